#include "server/api/chat_template.h"

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

std::string Render(ChatTemplateKind kind, const std::vector<ChatMessage>& messages) {
  auto r = RenderChat(kind, messages);
  return r.ok() ? ChatSegmentsText(r.value()) : "ERROR: " + r.status().message();
}

TEST(ChatTemplateTest, PlainSingleTurnEndsWithAssistantCue) {
  EXPECT_EQ(Render(ChatTemplateKind::kPlain, {{"user", "Hi"}}), "<s>User: Hi\nAssistant:");
  EXPECT_EQ(Render(ChatTemplateKind::kPlain, {{"system", "Be kind."}, {"user", "Hi"}}),
            "<s>System: Be kind.\nUser: Hi\nAssistant:");
}

TEST(ChatTemplateTest, PlainMultiTurnAndContinuation) {
  EXPECT_EQ(Render(ChatTemplateKind::kPlain, {{"user", "A"}, {"assistant", "B"}, {"user", "C"}}),
            "<s>User: A\nAssistant: B\nUser: C\nAssistant:");
  // The last message is the assistant's: the model continues it.
  EXPECT_EQ(Render(ChatTemplateKind::kPlain, {{"user", "A"}, {"assistant", "Once"}}), "<s>User: A\nAssistant: Once");
}

TEST(ChatTemplateTest, Llama2MatchesMetaFormat) {
  EXPECT_EQ(Render(ChatTemplateKind::kLlama2, {{"user", " Hi "}}), "<s>[INST] Hi [/INST]");
  EXPECT_EQ(Render(ChatTemplateKind::kLlama2, {{"system", "Sys"}, {"user", "Hi"}}),
            "<s>[INST] <<SYS>>\nSys\n<</SYS>>\n\nHi [/INST]");
  EXPECT_EQ(Render(ChatTemplateKind::kLlama2, {{"system", "S"}, {"user", "A"}, {"assistant", "B"}, {"user", "C"}}),
            "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nA [/INST] B </s><s>[INST] C [/INST]");
  auto segs = RenderChat(ChatTemplateKind::kLlama2, {{"user", "A"}, {"assistant", "B"}, {"user", "C"}});
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 2u);
  EXPECT_TRUE((*segs)[0].bos && (*segs)[0].eos);
  EXPECT_TRUE((*segs)[1].bos && !(*segs)[1].eos);
}

TEST(ChatTemplateTest, Llama2ContinuesALastAssistantMessageWithoutEos) {
  EXPECT_EQ(Render(ChatTemplateKind::kLlama2, {{"user", "A"}, {"assistant", "B"}}), "<s>[INST] A [/INST] B");
}

TEST(ChatTemplateTest, RolesMustAlternateStartingWithUser) {
  EXPECT_FALSE(RenderChat(ChatTemplateKind::kPlain, {{"assistant", "x"}}).ok());
  EXPECT_FALSE(RenderChat(ChatTemplateKind::kPlain, {{"user", "x"}, {"user", "y"}}).ok());
  EXPECT_FALSE(RenderChat(ChatTemplateKind::kLlama2, {{"system", "only"}}).ok());
  // System messages anywhere join the system prompt.
  EXPECT_EQ(Render(ChatTemplateKind::kPlain, {{"system", "a"}, {"user", "x"}, {"system", "b"}}),
            "<s>System: a\n\nb\nUser: x\nAssistant:");
}

TEST(ChatTemplateTest, TemplateNames) {
  ChatTemplateKind k;
  EXPECT_TRUE(ParseChatTemplateKind("llama2", &k));
  EXPECT_EQ(k, ChatTemplateKind::kLlama2);
  EXPECT_TRUE(ParseChatTemplateKind("plain", &k));
  EXPECT_EQ(k, ChatTemplateKind::kPlain);
  EXPECT_FALSE(ParseChatTemplateKind("chatml", &k));
}

}  // namespace
}  // namespace fpgaserve
