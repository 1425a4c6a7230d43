// The Jinja interpreter on its own: expressions, statements, whitespace control, undefined values, errors
// and limits. The expected outputs of the table below are what Python's jinja2 (trim_blocks, lstrip_blocks,
// Hugging Face's tojson) printed for the same templates; jinja_oracle_test.cpp checks whole chat templates
// against jinja2 live.
#include "server/api/jinja_template.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

constexpr int64_t kNow = 1764400000;  // 2025-11-29 07:06:40 UTC

Result<jinja::TaintedText> RenderWith(const std::string& source, const JinjaOptions& options = {}) {
  Result<JinjaTemplate> t = JinjaTemplate::Parse(source, options);
  if (!t.ok()) return t.status();
  JinjaRenderInput input;
  input.user_variables = {{"m", {{"role", "user"}, {"list", {1, 2, 3}}}}};
  input.now_unix_seconds = kNow;
  return t.value().Render(input);
}

std::string Render(const std::string& source) {
  Result<jinja::TaintedText> r = RenderWith(source);
  return r.ok() ? r.value().text : "ERROR: " + r.status().message();
}

// The error message, or "" when rendering succeeded.
std::string Error(const std::string& source, const JinjaOptions& options = {}) {
  Result<jinja::TaintedText> r = RenderWith(source, options);
  return r.ok() ? "" : r.status().message();
}

struct Case {
  const char* name;
  const char* source;
  const char* expected;
};

const Case kCases[] = {
    {"Arithmetic",
     "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} "
     "{{ -3 }} {{ 7.5 // 2 }}",
     "7 9 3 -4 2 3.5 2.0 1024 -3 3.0"},
    {"Concatenation", "{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ 'x' + 'y' }}",
     "a1NoneTrue ababab [1, 2, 3] xy"},
    {"LiteralsPrintAsPython",
     "{{ {'a': 1, 'b': [true, none, 'it\\'s']} }} {{ (1, 2) }} {{ 1.5e3 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ "
     "3.0 }} {{ 1_000 }}",
     "{'a': 1, 'b': [True, None, \"it's\"]} (1, 2) 1500.0 0.30000000000000004 1e+20 1e-05 3.0 1000"},
    {"StringEscapes",
     "{{ 'a\\tb\\\\' }}|{{ \"\\u00e9\\x41\\n\" }}|{{ 'unknown \\d escape' }}|{{ 'adjacent' ' literals' }}",
     "a\tb\\|éA\n|unknown \\d escape|adjacent literals"},
    {"Comparisons",
     "{{ 1 < 2 < 3 }} {{ 3 < 2 < 4 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 in [1, 2] }} {{ 'x' not in 'abc' }} {{ 'k' "
     "in {'k': 1} }} {{ 'b' >= 'a' }}",
     "True False True True True True True True"},
    {"LogicReturnsOperands",
     "{{ none or 'd' }} {{ 0 and 1 }} {{ not [] }} {{ 'y' if 1 > 2 else 'n' }}|{{ 'y' if false }}|", "d 0 True n||"},
    {"AttributesSubscriptsSlices",
     "{{ m.role }} {{ m['role'] }} {{ m.list[-1] }} {{ m.list[1:] }} {{ m.list[::-1] }} {{ m.list[:-1] }} {{ "
     "'hello'[1:3] }} {{ 'héllo'[1] }} {{ m.list.0 }}",
     "user user 3 [2, 3] [3, 2, 1] [1, 2] el é 1"},
    {"Filters",
     "{{ '  x  ' | trim }}|{{ [1,2,3] | length }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'hello world' | capitalize "
     "}}|{{ 'hello world' | title }}|{{ [1, 2] | join(', ') }}|{{ [3, 4] | first }}|{{ [3, 4] | last }}|{{ nope | "
     "default('dflt') }}|{{ '' | default('e', true) }}|{{ 'abc' | length }}|{{ 'x-y' | replace('-', '+') }}|{{ '42' | "
     "int + 1 }}|{{ [1, 2, 1] | unique | list }}|{{ [1, 2] | reverse | list }}|{{ -3 | abs }}",
     "x|3|AB|ab|Hello world|Hello World|1, 2|3|4|dflt|e|3|x+y|43|[1, 2]|[2, 1]|3"},
    {"Tojson",
     "{{ {'b': 1, 'a': [1, 'é\"', none, 2.5, false]} | tojson }}|{{ {'k': [1, {}], 'e': []} | tojson(indent=2) }}|{{ "
     "'x' | tojson }}",
     "{\"b\": 1, \"a\": [1, \"é\\\"\", null, 2.5, false]}|{\n  \"k\": [\n    1,\n    {}\n  ],\n  \"e\": []\n}|\"x\""},
    {"SelectRejectMap",
     "{{ ['a', 'b', 'c'] | reject('equalto', 'b') | join(',') }} {{ [1, 2, 3, 4] | select('even') | list }} {{ [{'n': "
     "'x', 'on': true}, {'n': 'y', 'on': false}] | selectattr('on') | map(attribute='n') | list }} {{ [{'n': 1}, {'n': "
     "2}] | rejectattr('n', 'equalto', 1) | list }} {{ ['a', 'B'] | map('upper') | join }}",
     "a,c [2, 4] ['x'] [{'n': 2}] AB"},
    {"ItemsAndDictMethods",
     "{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}={{ v }};{% endfor %} {{ m.get('role') }} {{ m.get('nope', 'x') "
     "}} {{ m.get('nope') }} {% for k, v in m.items() %}{{ k }};{% endfor %} {{ m.keys() | list }} {{ m.values() | "
     "list | length }}",
     "a=1;b=2; user x None role;list; ['role', 'list'] 2"},
    {"StringMethods",
     "{{ '  a b  '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'xxaxx'.rstrip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b "
     "'.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ "
     "'aaa'.replace('a', 'b', 2) }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'hello there'.title() }}|{{ "
     "'abcb'.find('b') }}|{{ 'abcb'.count('b') }}|{{ '-'.join(['x', 'y']) }}|{{ 'ab'.capitalize() }}",
     "a b|axx|xxa|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|True|True|bba|HIhi|Hello There|1|2|x-y|Ab"},
    {"Tests",
     "{{ x is defined }} {{ none is none }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 3 is odd "
     "}} {{ 4 is even }} {{ 6 is divisibleby 3 }} {{ 1 is number }} {{ x is not defined }} {{ 1 is integer }} {{ 1.0 "
     "is float }} {{ true is boolean }} {{ 2 is eq 2 }} {{ 'a' is in 'cat' }} {{ m is sequence }}",
     "False True True True True True True True True True True True True True True True"},
    {"LoopVariables",
     "{% for x in ['a', 'b', 'c'] %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length "
     "}}{{ loop.revindex }}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }} {% endfor %}",
     "01TrueFalse33-b 12FalseFalse32ac 23FalseTrue31b- "},
    {"LoopFilterElseBreakContinue",
     "{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}{{ x "
     "}}{% else %}empty{% endfor %}|{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% "
     "break %}{% endif %}{{ x }}{% endfor %}|{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% "
     "endfor %}{{ loop.index }} {% endfor %}",
     "2242|empty|0134|1x11y21 2x12y22 "},
    {"NamespaceAndScopes",
     "{% set ns = namespace(found=false, n=0) %}{% for x in [1, 2, 3] %}{% set ns.n = ns.n + x %}{% if x == 2 %}{% set "
     "ns.found = true %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }} {% set c = 0 %}{% for i in range(3) %}{% set "
     "c = c + 1 %}{{ c }}{% endfor %}{{ c }} {% if true %}{% set d = 5 %}{% endif %}{{ d }} {% set x %}a{{ 1 }}b{% "
     "endset %}[{{ x }}]",
     "True 6 1110 5 [a1b]"},
    {"RangeAndStrftime",
     "{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }} {{ strftime_now('%d %b %Y') }} "
     "{{ strftime_now('%Y-%m-%d %H:%M') }}",
     "[0, 1, 2] [1, 4, 7] [5, 3, 1] 29 Nov 2025 2025-11-29 07:06"},
    {"UndefinedPrintsEmptyAndIteratesAsNothing",
     "[{{ nope }}][{{ m.missing }}][{% for x in nope %}x{% endfor %}][{{ nope | length }}][{{ nope is defined }}][{{ "
     "nope == nope }}][{{ none.attr }}][{{ 'abc'.nope }}][{{ nope | trim }}]",
     "[][][][0][False][True][][][]"},
    {"WhitespaceMinusStripsBothSides",
     "a  {{- ' b ' -}}  c|x \n {%- if true -%} \n y \n {%- endif -%} \n z|{# c #} p {#- c -#} q", "a b c|xyz| pq"},
    {"TrimAndLstripBlocks",
     "x\n  {% if true %}\n  y\n  {% endif %}\nz\n\t{# comment #}\nw\n  {{ 'v' }}\n  {% for i in [1, 2] %}\n    {{ i "
     "}}\n  {% endfor %}\nend",
     "x\n  y\nz\nw\n  v\n    1\n    2\nend"},
    {"PlusDisablesLstripAndTrim", "  {%+ if true %}a{% endif %}|{% if true +%}\nA{% endif %}", "  a|\nA"},
    {"LstripAfterATrimmedTag",
     "{% if true %}\n  {% if true %}in{% endif %}\n{% endif %}  {% if true %}same line{% endif %}", "in  same line"},
    {"NewlinesAreNormalisedAndOneTrailingDropped", "a\r\n{% if true %}\r\nb\r\n{% endif %}\rc\n", "a\nb\nc"},
    {"RawTextAroundTags", "{ not a tag } {{ '{{ literal }}' }} %} }}", "{ not a tag } {{ literal }} %} }}"},
    {"TitleFilterIsJinjasAndTitleMethodIsPythons", "{{ \"they're x-ray (big) HI\" | title }}|{{ \"they're\".title() }}",
     "They're X-Ray (Big) Hi|They'Re"},
    {"OddEvenOnFloatsAndBoolsSequenceComparison",
     "{{ 2.5 is odd }}|{{ 3.0 is odd }}|{{ true is even }}|{{ (1, 2) < (1, 3) }}|{{ [2] > [1, 5] }}",
     "False|True|False|True|True"},
};

TEST(JinjaTemplateTest, RendersAsJinja2Does) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Render(c.source), c.expected);
  }
}

TEST(JinjaTemplateTest, UndefinedAttributeOfUndefinedIsAnErrorLikeJinja2) {
  EXPECT_NE(Error("{{ nope.attr }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(Error("{{ m.missing.deeper }}").find("'dict object' has no attribute 'missing'"), std::string::npos);
  EXPECT_NE(Error("{{ nope + 1 }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(Error("{{ nope['k'] }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(Error("{{ nope() }}").find("'nope' is undefined"), std::string::npos);
}

TEST(JinjaTemplateTest, ErrorsNameTheConstructAndItsLineAndColumn) {
  EXPECT_EQ(Error("ab\n  {{ m | nosuchfilter }}"), "chat template 2:8: unknown filter 'nosuchfilter'");
  EXPECT_EQ(Error("{{ 1 is nosuchtest }}"), "chat template 1:6: unknown test 'nosuchtest'");
  EXPECT_EQ(Error("{{ 1 / 0 }}"), "chat template 1:6: division by zero");
  EXPECT_EQ(Error("{{ 'a' + 1 }}"), "chat template 1:8: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(Error("x\n{{ m.role.nope.x }}"), "chat template 2:15: 'str object' has no attribute 'nope'");
  EXPECT_EQ(Error("{{ m.list.append(4) }}"), "chat template 1:17: 'list object' has no method 'append'");
  EXPECT_EQ(Error("{{ 1 is odd 2 }}"), "chat template 1:6: test 'odd' takes no arguments, 1 given");
  EXPECT_EQ(Error("{{ 1 is eq }}"), "chat template 1:6: test 'eq' takes one argument, 0 given");
}

TEST(JinjaTemplateTest, SyntaxErrorsAreReportedAtParseTime) {
  auto parse_error = [](const std::string& s) {
    Result<JinjaTemplate> t = JinjaTemplate::Parse(s);
    return t.ok() ? std::string() : t.status().message();
  };
  EXPECT_EQ(parse_error("{% if x %}abc"), "chat template 1:4: missing '{% endif %}' for the 'if' opened at 1:4");
  EXPECT_EQ(parse_error("a {{ x "), "chat template 1:3: unterminated '{{' tag (missing '}}')");
  EXPECT_EQ(parse_error("{% for x in y %}"), "chat template 1:4: missing '{% endfor %}' for the 'for' opened at 1:4");
  EXPECT_EQ(parse_error("{# never closed"), "chat template 1:1: unterminated comment");
  EXPECT_EQ(parse_error("{{ 'open }}"), "chat template 1:4: unterminated string literal");
  EXPECT_EQ(parse_error("{% include 'x' %}"),
            "chat template 1:4: the 'include' tag is not supported by this Jinja interpreter");
  EXPECT_EQ(parse_error("{% macro f() %}{% endmacro %}"),
            "chat template 1:4: the 'macro' tag is not supported by this Jinja interpreter");
  EXPECT_EQ(parse_error("{% endfor %}"), "chat template 1:4: unexpected '{% endfor %}' (no open block it could close)");
  EXPECT_EQ(parse_error("{{ 1 + }}"), "chat template 1:8: expected an expression, found '}}'");
  EXPECT_EQ(parse_error("{{ (1 }}"), "chat template 1:7: unbalanced '}'");
  EXPECT_EQ(parse_error("{{ a ; b }}"), "chat template 1:6: unexpected character ';' in tag");
  EXPECT_EQ(parse_error("{{ 99999999999999999999 }}"),
            "chat template 1:4: integer literal 99999999999999999999 does not fit in 64 bits");
  // jinja2's rules for a test's bare argument: a second `is` is refused, `if` would be taken as the argument.
  EXPECT_EQ(parse_error("{{ x is defined is string }}"), "chat template 1:17: tests cannot be chained with 'is'");
  EXPECT_EQ(parse_error("{{ 1 if x is defined if y }}"), "chat template 1:25: expected '}}', found 'y'");
}

TEST(JinjaTemplateTest, RaiseExceptionGivesTheTemplatesMessageAlone) {
  EXPECT_EQ(Error("{% if true %}{{ raise_exception('Roles must alternate') }}{% endif %}"), "Roles must alternate");
}

TEST(JinjaTemplateTest, OutputLimitStopsARunawayLoop) {
  JinjaOptions options;
  options.max_output_bytes = 1000;
  EXPECT_NE(
      Error("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}", options).find("output exceeds the limit of 1000"),
      std::string::npos);
}

TEST(JinjaTemplateTest, StepLimitEndsNestedLoops) {
  JinjaOptions options;
  options.max_steps = 100000;
  EXPECT_NE(Error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", options)
                .find("ran more than 100000 steps"),
            std::string::npos);
  EXPECT_EQ(Error("{% for i in range(3) %}{{ i }}{% endfor %}", options), "");  // ordinary templates fit
}

TEST(JinjaTemplateTest, StringsAndListsCannotGrowPastTheLimits) {
  EXPECT_NE(Error("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}")
                .find("longer than the limit"),
            std::string::npos);
  EXPECT_NE(Error("{{ 'x' * 100000000000 }}").find("longer than the limit"), std::string::npos);
  EXPECT_NE(Error("{{ range(1000000000) | length }}").find("range() would build a list longer"), std::string::npos);
  EXPECT_NE(Error("{{ range(-9223372036854775807, 9223372036854775807) | length }}").find("longer"), std::string::npos);
  EXPECT_NE(Error("{{ ('x' * 1000000).replace('x', 'yy') }}").find("longer than the limit"), std::string::npos);
  EXPECT_NE(Error("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}")
                .find("list longer than the limit"),
            std::string::npos);
  EXPECT_NE(Error("{{ 2 ** 64 }}").find("integer overflow"), std::string::npos);
}

TEST(JinjaTemplateTest, DeepNestingIsRefusedNotACrash) {
  const std::string parens = "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  EXPECT_NE(Error(parens).find("nests deeper than 100 levels"), std::string::npos);
  std::string ifs;
  for (int i = 0; i < 10000; ++i) ifs += "{% if true %}";
  EXPECT_NE(Error(ifs).find("nests deeper"), std::string::npos);
  std::string nots = "{{ ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_NE(Error(nots + "1 }}").find("nests deeper"), std::string::npos);
  EXPECT_NE(Error("{{ " + std::string(100000, '-') + "1 }}").find("nests deeper"), std::string::npos);
}

TEST(JinjaTemplateTest, UserTextIsTrackedThroughConcatenationAndFilters) {
  Result<JinjaTemplate> t = JinjaTemplate::Parse(
      "{{ bos_token + '[' + u + ']' }}|{{ u | trim }}|{{ n }}|{{ bos_token | upper }}");
  ASSERT_TRUE(t.ok());
  JinjaRenderInput input;
  input.user_variables = {{"u", " hi "}, {"n", 7}};
  input.trusted_variables = {{"bos_token", "<s>"}};
  Result<jinja::TaintedText> r = t.value().Render(input);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().text, "<s>[ hi ]|hi|7|<S>");
  ASSERT_EQ(r.value().user.size(), 2u);
  EXPECT_EQ(r.value().user[0].begin, 4u);  // " hi " inside the brackets
  EXPECT_EQ(r.value().user[0].end, 8u);
  EXPECT_EQ(r.value().user[1].begin, 10u);  // "hi" from trim
  EXPECT_EQ(r.value().user[1].end, 12u);
}

TEST(JinjaTemplateTest, DictKeysMadeOfUserTextStayUserText) {
  Result<JinjaTemplate> t = JinjaTemplate::Parse(
      "{% for k in {u: 1} %}{{ k }}{% endfor %}{% for k in {'t': 1} %}{{ k }}{% endfor %}");
  ASSERT_TRUE(t.ok());
  JinjaRenderInput input;
  input.user_variables = {{"u", "<s>"}};
  Result<jinja::TaintedText> r = t.value().Render(input);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().text, "<s>t");
  ASSERT_EQ(r.value().user.size(), 1u);
  EXPECT_EQ(r.value().user[0].end, 3u);
}

TEST(JinjaTemplateTest, ParsedTemplateRendersRepeatedlyWithDifferentInputs) {
  Result<JinjaTemplate> t = JinjaTemplate::Parse("{% for x in xs %}{{ x }}{% endfor %}");
  ASSERT_TRUE(t.ok());
  for (int n = 0; n < 3; ++n) {
    JinjaRenderInput input;
    input.user_variables = {{"xs", nlohmann::ordered_json::array()}};
    for (int i = 0; i < n; ++i) input.user_variables["xs"].push_back(i);
    Result<jinja::TaintedText> r = t.value().Render(input);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().text, std::string("012").substr(0, static_cast<size_t>(n)));
  }
}

}  // namespace
}  // namespace fpgaserve

namespace fpgaserve {
namespace {

// Every prefix of every test chat template (most of them cut mid-tag, mid-string or mid-block) either fails
// with an error naming a position or renders: never a crash, never a hang.
TEST(JinjaTemplateRobustnessTest, EveryPrefixOfTheChatTemplatesFailsCleanlyOrRenders) {
  const std::string dir = std::string(FPGASERVE_SOURCE_DIR) + "/tests/server/api/chat_templates/";
  for (const char* name : {"llama2.jinja", "llama3_1.jinja", "zephyr.jinja", "mistral.jinja"}) {
    std::ifstream in(dir + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    ASSERT_FALSE(text.empty()) << name;
    for (size_t n = 0; n <= text.size(); ++n) {
      Result<JinjaTemplate> t = JinjaTemplate::Parse(text.substr(0, n));
      if (!t.ok()) {
        EXPECT_EQ(t.status().message().rfind("chat template ", 0), 0u) << name << " prefix " << n;
        continue;
      }
      JinjaRenderInput input;
      input.user_variables = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"add_generation_prompt", true}};
      Result<jinja::TaintedText> r = t.value().Render(input);
      if (!r.ok()) {
        EXPECT_FALSE(r.status().message().empty());
      }
    }
  }
}

}  // namespace
}  // namespace fpgaserve
