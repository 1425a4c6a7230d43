#include "server/api/chat_template.h"

#include <cctype>

namespace fpgaserve {
namespace {

std::string Strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) b++;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) e--;
  return s.substr(b, e - b);
}

// The system prompt and the alternating turns, checked.
struct Turns {
  std::string system;
  std::vector<const ChatMessage*> turns;  // user, assistant, user, ...
};

Result<Turns> SplitTurns(const std::vector<ChatMessage>& messages) {
  Turns t;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      t.system += (t.system.empty() ? "" : "\n\n") + m.content;
      continue;
    }
    const char* expected = t.turns.size() % 2 == 0 ? "user" : "assistant";
    if (m.role != expected) {
      return Status::InvalidArgument(
          "messages must alternate user and assistant, starting with user (after "
          "any system messages); message " +
          std::to_string(&m - messages.data()) + " is '" + m.role + "' where '" + expected + "' was expected");
    }
    t.turns.push_back(&m);
  }
  if (t.turns.empty()) return Status::InvalidArgument("messages must contain at least one user message");
  return t;
}

}  // namespace

Result<std::vector<ChatSegment>> RenderChat(ChatTemplateKind kind, const std::vector<ChatMessage>& messages) {
  Result<Turns> split = SplitTurns(messages);
  if (!split.ok()) return split.status();
  const Turns& t = split.value();
  std::vector<ChatSegment> out;
  if (kind == ChatTemplateKind::kPlain) {
    std::string text;
    if (!t.system.empty()) text += "System: " + t.system + "\n";
    for (size_t i = 0; i < t.turns.size(); ++i) {
      const bool user = i % 2 == 0;
      text += (user ? "User: " : "Assistant: ") + t.turns[i]->content;
      if (user || i + 1 < t.turns.size()) text += "\n";
    }
    if (t.turns.size() % 2 == 1) text += "Assistant:";
    out.push_back({true, text, false});
    return out;
  }
  // llama2: the system prompt goes inside the first [INST].
  for (size_t i = 0; i < t.turns.size(); i += 2) {
    std::string user = Strip(t.turns[i]->content);
    if (i == 0 && !t.system.empty()) {
      // Appends, not operator+ chains: GCC 12 reports a false -Wrestrict on "literal" + std::string.
      std::string with_system = "<<SYS>>\n";
      with_system.append(Strip(t.system)).append("\n<</SYS>>\n\n").append(user);
      user = std::move(with_system);
    }
    ChatSegment seg{true, "[INST] ", false};
    seg.text.append(user).append(" [/INST]");
    if (i + 1 < t.turns.size()) {
      const bool last = i + 2 >= t.turns.size();
      seg.text.append(" ").append(Strip(t.turns[i + 1]->content));
      if (!last) {
        seg.text += " ";
        seg.eos = true;
      }
    }
    out.push_back(std::move(seg));
  }
  return out;
}

std::string ChatSegmentsText(const std::vector<ChatSegment>& segments) {
  std::string s;
  for (const ChatSegment& seg : segments) s += (seg.bos ? "<s>" : "") + seg.text + (seg.eos ? "</s>" : "");
  return s;
}

bool ParseChatTemplateKind(const std::string& name, ChatTemplateKind* kind) {
  if (name == "plain") {
    *kind = ChatTemplateKind::kPlain;
  } else if (name == "llama2") {
    *kind = ChatTemplateKind::kLlama2;
  } else {
    return false;
  }
  return true;
}

}  // namespace fpgaserve
