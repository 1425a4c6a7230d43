#include "server/model/made_up_vocabulary.h"

#include <cstdio>
#include <string>
#include <vector>

namespace fpgaserve {

void WriteMadeUpSentencePieceVocabulary(GgufBuilder& b, int vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};  // llama.cpp's token types: unknown, control, control
  for (int i = 0; i < 256; i++) {
    char piece[8];
    std::snprintf(piece, sizeof piece, "<0x%02X>", i);
    tokens.push_back(piece);
    types.push_back(6);  // byte
  }
  const std::string space = "\xe2\x96\x81";  // U+2581, SentencePiece's space
  for (char x = 'a'; x <= 'z'; x++) tokens.push_back(space + x);
  for (char x = 'a'; x <= 'z'; x++) {
    for (char y = 'a'; y <= 'z'; y++) tokens.push_back({x, y});
  }
  for (int i = 0; static_cast<int>(tokens.size()) < vocab; i++) tokens.push_back(space + "w" + std::to_string(i));
  tokens.resize(static_cast<size_t>(vocab));
  types.resize(tokens.size(), 1);  // normal
  std::vector<float> scores;
  for (size_t i = 0; i < tokens.size(); i++) scores.push_back(i < 259 ? 0.0f : -static_cast<float>(i));
  SetSentencePieceVocabulary(b, tokens, scores, types);
}

}  // namespace fpgaserve
