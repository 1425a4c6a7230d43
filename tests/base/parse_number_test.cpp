#include "base/parse_number.h"

#include <clocale>
#include <limits>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

TEST(ParseNumber, IntegersAreTheWholeTextInRange) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("-42"), -42);
  EXPECT_EQ(ParseInt64("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseUint64("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  for (const char* bad : {"", " 1", "1 ", "+1", "1x", "0x10", "1.0", "9223372036854775808", "-"}) {
    EXPECT_EQ(ParseInt64(bad), std::nullopt) << '"' << bad << '"';
  }
  for (const char* bad : {"-1", "18446744073709551616", "max", "1\n"}) {
    EXPECT_EQ(ParseUint64(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ParseNumber, DoublesAreFiniteDecimalsWhateverTheLocale) {
  EXPECT_EQ(ParseDouble("1"), 1.0);
  EXPECT_EQ(ParseDouble("-0.5"), -0.5);
  EXPECT_EQ(ParseDouble("2e-3"), 2e-3);
  EXPECT_EQ(ParseDouble("1.5E+2"), 150.0);
  for (const char* bad : {"", "inf", "-inf", "nan", "1e999", "0x1p3", " 1", "1 ", "+1", "1,5", "1.5s"}) {
    EXPECT_EQ(ParseDouble(bad), std::nullopt) << '"' << bad << '"';
  }
  // A locale with a decimal comma (when the machine has one) changes nothing.
  if (std::setlocale(LC_NUMERIC, "de_DE.UTF-8") != nullptr) {
    EXPECT_EQ(ParseDouble("0.25"), 0.25);
    std::setlocale(LC_NUMERIC, "C");
  }
}

}  // namespace
}  // namespace fpgaserve
