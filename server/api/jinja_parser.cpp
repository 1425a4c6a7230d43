#include "server/api/jinja_parser.h"

#include <initializer_list>
#include <string_view>

namespace fpgaserve::jinja {
namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_depth) : t_(tokens), max_depth_(max_depth) {}

  NodePtr Template() {
    NodePtr body = Body({});
    if (Peek().type != TokenType::kEof) throw JinjaError("unexpected text after the template", Peek().pos);
    return body;
  }

 private:
  // Counts nesting while a recursive rule runs.
  class DepthGuard {
   public:
    DepthGuard(Parser* p, SourcePos pos) : p_(p) {
      if (++p_->depth_ > p_->max_depth_) {
        throw JinjaError("the template nests deeper than " + std::to_string(p_->max_depth_) + " levels", pos);
      }
    }
    ~DepthGuard() { --p_->depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser* p_;
  };

  const Token& Peek(size_t ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < t_.size() ? t_[i] : t_.back();
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < t_.size() - 1) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kOperator && Peek(ahead).text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kName && Peek(ahead).text == name;
  }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(std::string_view name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }
  static std::string Describe(const Token& t) {
    switch (t.type) {
      case TokenType::kData: return "template text";
      case TokenType::kVarBegin: return "'{{'";
      case TokenType::kVarEnd: return "'}}'";
      case TokenType::kBlockBegin: return "'{%'";
      case TokenType::kBlockEnd: return "'%}'";
      case TokenType::kName: return "'" + t.text + "'";
      case TokenType::kString: return "a string";
      case TokenType::kInt:
      case TokenType::kFloat: return "a number";
      case TokenType::kOperator: return "'" + t.text + "'";
      case TokenType::kEof: return "the end of the template";
    }
    return "?";
  }
  void ExpectOp(std::string_view op) {
    if (!SkipOp(op)) throw JinjaError("expected '" + std::string(op) + "', found " + Describe(Peek()), Peek().pos);
  }
  void Expect(TokenType type, const char* what) {
    if (Peek().type != type) {
      throw JinjaError(std::string("expected ") + what + ", found " + Describe(Peek()), Peek().pos);
    }
    Next();
  }
  std::string ExpectName() {
    if (Peek().type != TokenType::kName) throw JinjaError("expected a name, found " + Describe(Peek()), Peek().pos);
    return Next().text;
  }
  NodePtr Make(NodeKind kind, SourcePos pos) { return std::make_unique<Node>(kind, pos); }

  // Statements until a {% tag %} named in `ends` (left unconsumed: Peek() is then that tag's name) or the end.
  NodePtr Body(std::initializer_list<std::string_view> ends) {
    NodePtr body = Make(NodeKind::kBody, Peek().pos);
    while (true) {
      const Token& t = Peek();
      if (t.type == TokenType::kEof) return body;
      if (t.type == TokenType::kData) {
        NodePtr d = Make(NodeKind::kData, t.pos);
        d->name = t.text;
        body->kids.push_back(std::move(d));
        Next();
      } else if (t.type == TokenType::kVarBegin) {
        Next();
        NodePtr p = Make(NodeKind::kPrint, t.pos);
        p->kids.push_back(Expression());
        Expect(TokenType::kVarEnd, "'}}'");
        body->kids.push_back(std::move(p));
      } else if (t.type == TokenType::kBlockBegin) {
        const Token& tag = Peek(1);
        if (tag.type != TokenType::kName) throw JinjaError("expected a tag name after '{%'", tag.pos);
        for (std::string_view e : ends) {
          if (tag.text == e) {
            Next();  // '{%'
            return body;
          }
        }
        body->kids.push_back(Statement());
      } else {
        throw JinjaError("unexpected " + Describe(t), t.pos);
      }
    }
  }

  // After Body() stopped at one of its end tags: consumes the tag name (and, for end tags, the '%}').
  void EndTag(const std::string& tag, const std::string& opener, SourcePos opened) {
    if (Peek().type == TokenType::kEof) {
      throw JinjaError("missing '{% " + tag + " %}' for the '" + opener + "' opened at " + std::to_string(opened.line) +
                           ":" + std::to_string(opened.column),
                       opened);
    }
    Next();
    Expect(TokenType::kBlockEnd, "'%}'");
  }

  NodePtr Statement() {
    const Token& open = Next();  // '{%'
    DepthGuard guard(this, open.pos);
    const Token& tag = Next();
    const std::string& name = tag.text;
    if (name == "if") return If(tag.pos);
    if (name == "for") return For(tag.pos);
    if (name == "set") return Set(tag.pos);
    if (name == "break" || name == "continue") {
      Expect(TokenType::kBlockEnd, "'%}'");
      return Make(name == "break" ? NodeKind::kBreak : NodeKind::kContinue, tag.pos);
    }
    if (name.rfind("end", 0) == 0 || name == "elif" || name == "else") {
      throw JinjaError("unexpected '{% " + name + " %}' (no open block it could close)", tag.pos);
    }
    throw JinjaError("the '" + name + "' tag is not supported by this Jinja interpreter", tag.pos);
  }

  NodePtr If(SourcePos pos) {
    NodePtr node = Make(NodeKind::kIf, pos);
    node->kids.push_back(Expression());
    Expect(TokenType::kBlockEnd, "'%}'");
    while (true) {
      node->kids.push_back(Body({"elif", "else", "endif"}));
      if (Peek().type == TokenType::kEof) EndTag("endif", "if", pos);
      const std::string tag = Next().text;
      if (tag == "elif") {
        node->kids.push_back(Expression());
        Expect(TokenType::kBlockEnd, "'%}'");
      } else if (tag == "else") {
        Expect(TokenType::kBlockEnd, "'%}'");
        node->kids.push_back(Body({"endif"}));
        EndTag("endif", "if", pos);
        return node;
      } else {
        Expect(TokenType::kBlockEnd, "'%}'");
        return node;
      }
    }
  }

  NodePtr For(SourcePos pos) {
    NodePtr node = Make(NodeKind::kFor, pos);
    node->ops.push_back(ExpectName());
    while (SkipOp(",")) node->ops.push_back(ExpectName());
    if (!SkipName("in")) throw JinjaError("expected 'in' in the for tag, found " + Describe(Peek()), Peek().pos);
    // The iterable: no conditional expression here, so `if` starts the loop filter (as in jinja2).
    node->kids.push_back(Or());
    node->kids.push_back(SkipName("if") ? Expression() : nullptr);
    if (IsName("recursive")) throw JinjaError("recursive loops are not supported", Peek().pos);
    Expect(TokenType::kBlockEnd, "'%}'");
    node->kids.push_back(Body({"else", "endfor"}));
    if (Peek().type != TokenType::kEof && Peek().text == "else") {
      Next();
      Expect(TokenType::kBlockEnd, "'%}'");
      node->kids.push_back(Body({"endfor"}));
    } else {
      node->kids.push_back(nullptr);
    }
    EndTag("endfor", "for", pos);
    return node;
  }

  NodePtr Set(SourcePos pos) {
    NodePtr node = Make(NodeKind::kSet, pos);
    node->name = ExpectName();
    if (SkipOp(".")) node->attr = ExpectName();
    if (IsOp(",")) throw JinjaError("tuple assignment in set is not supported", Peek().pos);
    if (SkipOp("=")) {
      node->kids.push_back(Expression());
      Expect(TokenType::kBlockEnd, "'%}'");
      return node;
    }
    if (IsOp("|")) throw JinjaError("filtered block set is not supported", Peek().pos);
    Expect(TokenType::kBlockEnd, "'=' or '%}'");
    node->negate = true;
    node->kids.push_back(Body({"endset"}));
    EndTag("endset", "set", pos);
    return node;
  }

  // ---- Expressions, lowest precedence first.

  NodePtr Expression() {
    DepthGuard guard(this, Peek().pos);
    NodePtr then = Or();
    while (IsName("if")) {
      const SourcePos pos = Next().pos;
      NodePtr node = Make(NodeKind::kCond, pos);
      node->kids.push_back(std::move(then));
      node->kids.push_back(Or());
      node->kids.push_back(SkipName("else") ? Expression() : nullptr);
      then = std::move(node);
    }
    return then;
  }

  NodePtr Binary(NodePtr left, const std::string& op, SourcePos pos, NodePtr right) {
    NodePtr node = Make(NodeKind::kBinary, pos);
    node->name = op;
    node->kids.push_back(std::move(left));
    node->kids.push_back(std::move(right));
    return node;
  }

  NodePtr Or() {
    NodePtr left = And();
    while (IsName("or")) {
      const SourcePos pos = Next().pos;
      left = Binary(std::move(left), "or", pos, And());
    }
    return left;
  }

  NodePtr And() {
    NodePtr left = Not();
    while (IsName("and")) {
      const SourcePos pos = Next().pos;
      left = Binary(std::move(left), "and", pos, Not());
    }
    return left;
  }

  NodePtr Not() {
    if (IsName("not")) {
      DepthGuard guard(this, Peek().pos);
      NodePtr node = Make(NodeKind::kUnary, Next().pos);
      node->name = "not";
      node->kids.push_back(Not());
      return node;
    }
    return Compare();
  }

  NodePtr Compare() {
    NodePtr first = Math1();
    NodePtr node;
    while (true) {
      std::string op;
      const SourcePos pos = Peek().pos;
      if (Peek().type == TokenType::kOperator && (Peek().text == "==" || Peek().text == "!=" || Peek().text == "<" ||
                                                  Peek().text == "<=" || Peek().text == ">" || Peek().text == ">=")) {
        op = Next().text;
      } else if (IsName("in")) {
        Next();
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        Next();
        Next();
        op = "notin";
      } else {
        break;
      }
      if (!node) {
        node = Make(NodeKind::kCompare, pos);
        node->kids.push_back(std::move(first));
      }
      node->ops.push_back(op);
      node->kids.push_back(Math1());
    }
    return node ? std::move(node) : std::move(first);
  }

  NodePtr Math1() {
    NodePtr left = Concat();
    while (IsOp("+") || IsOp("-")) {
      const Token& op = Next();
      left = Binary(std::move(left), op.text, op.pos, Concat());
    }
    return left;
  }

  NodePtr Concat() {
    NodePtr left = Math2();
    while (IsOp("~")) {
      const Token& op = Next();
      left = Binary(std::move(left), "~", op.pos, Math2());
    }
    return left;
  }

  NodePtr Math2() {
    NodePtr left = Pow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& op = Next();
      left = Binary(std::move(left), op.text, op.pos, Pow());
    }
    return left;
  }

  NodePtr Pow() {
    NodePtr left = Unary(true);
    while (IsOp("**")) {
      const Token& op = Next();
      left = Binary(std::move(left), "**", op.pos, Unary(true));
    }
    return left;
  }

  NodePtr Unary(bool with_filter) {
    DepthGuard guard(this, Peek().pos);
    NodePtr node;
    if (IsOp("-") || IsOp("+")) {
      const Token& op = Next();
      node = Make(NodeKind::kUnary, op.pos);
      node->name = op.text;
      node->kids.push_back(Unary(false));
    } else {
      node = Postfix(Primary());
    }
    return with_filter ? FilterExpr(std::move(node)) : std::move(node);
  }

  NodePtr Primary() {
    const Token& t = Peek();
    if (t.type == TokenType::kName) {
      Next();
      if (t.text == "true" || t.text == "True") return Literal(Value::Bool(true), t.pos);
      if (t.text == "false" || t.text == "False") return Literal(Value::Bool(false), t.pos);
      if (t.text == "none" || t.text == "None") return Literal(Value::None(), t.pos);
      NodePtr n = Make(NodeKind::kName, t.pos);
      n->name = t.text;
      return n;
    }
    if (t.type == TokenType::kString) {
      std::string s;
      while (Peek().type == TokenType::kString) s += Next().text;  // adjacent literals concatenate
      return Literal(Value::Str(std::move(s)), t.pos);
    }
    if (t.type == TokenType::kInt) return Literal(Value::Int(Next().int_value), t.pos);
    if (t.type == TokenType::kFloat) return Literal(Value::Float(Next().float_value), t.pos);
    if (SkipOp("(")) {
      if (SkipOp(")")) {
        NodePtr empty = Make(NodeKind::kList, t.pos);  // ()
        empty->negate = true;
        return empty;
      }
      NodePtr first = Expression();
      if (!IsOp(",")) {
        ExpectOp(")");
        return first;
      }
      NodePtr tuple = Make(NodeKind::kList, t.pos);
      tuple->negate = true;
      tuple->kids.push_back(std::move(first));
      while (SkipOp(",") && !IsOp(")")) tuple->kids.push_back(Expression());
      ExpectOp(")");
      return tuple;
    }
    if (SkipOp("[")) {
      NodePtr list = Make(NodeKind::kList, t.pos);
      while (!IsOp("]")) {
        if (!list->kids.empty()) ExpectOp(",");
        if (IsOp("]")) break;
        list->kids.push_back(Expression());
      }
      ExpectOp("]");
      return list;
    }
    if (SkipOp("{")) {
      NodePtr dict = Make(NodeKind::kDict, t.pos);
      while (!IsOp("}")) {
        if (!dict->kids.empty()) ExpectOp(",");
        if (IsOp("}")) break;
        dict->kids.push_back(Expression());
        ExpectOp(":");
        dict->kids.push_back(Expression());
      }
      ExpectOp("}");
      return dict;
    }
    throw JinjaError("expected an expression, found " + Describe(t), t.pos);
  }

  NodePtr Literal(Value v, SourcePos pos) {
    NodePtr n = Make(NodeKind::kLiteral, pos);
    n->value = std::move(v);
    return n;
  }

  NodePtr Postfix(NodePtr node) {
    while (true) {
      const SourcePos pos = Peek().pos;
      if (SkipOp(".")) {
        NodePtr g = Make(NodeKind::kGetattr, pos);
        if (Peek().type == TokenType::kInt) {
          // `x.0` is x[0] in jinja2.
          g->kind = NodeKind::kGetitem;
          g->kids.push_back(std::move(node));
          g->kids.push_back(Literal(Value::Int(Next().int_value), pos));
        } else {
          g->name = ExpectName();
          g->kids.push_back(std::move(node));
        }
        node = std::move(g);
      } else if (SkipOp("[")) {
        node = Subscript(std::move(node), pos);
      } else if (IsOp("(")) {
        node = Call(std::move(node), pos);
      } else {
        return node;
      }
    }
  }

  NodePtr Subscript(NodePtr subject, SourcePos pos) {
    DepthGuard guard(this, pos);
    NodePtr parts[3];
    bool slice = false;
    for (int i = 0; i < 3; ++i) {
      if (!IsOp(":") && !IsOp("]")) parts[i] = Expression();
      if (i < 2 && SkipOp(":")) {
        slice = true;
      } else {
        break;
      }
    }
    if (!slice && parts[0] && IsOp(",")) {
      // x[a, b]: the index is a tuple (jinja2 accepts it; a dict with tuple keys is the only use).
      NodePtr tuple = Make(NodeKind::kList, pos);
      tuple->negate = true;
      tuple->kids.push_back(std::move(parts[0]));
      while (SkipOp(",") && !IsOp("]")) tuple->kids.push_back(Expression());
      parts[0] = std::move(tuple);
    }
    ExpectOp("]");
    NodePtr node = Make(slice ? NodeKind::kSlice : NodeKind::kGetitem, pos);
    node->kids.push_back(std::move(subject));
    if (!slice && !parts[0]) throw JinjaError("empty subscript", pos);
    node->kids.push_back(std::move(parts[0]));
    if (slice) {
      node->kids.push_back(std::move(parts[1]));
      node->kids.push_back(std::move(parts[2]));
    }
    return node;
  }

  // Parses "(a, b, key=c)" into node->args / arg_names.
  void Arguments(Node* node) {
    DepthGuard guard(this, Peek().pos);
    ExpectOp("(");
    while (!IsOp(")")) {
      if (!node->args.empty()) ExpectOp(",");
      if (IsOp(")")) break;
      if (IsOp("*") || IsOp("**")) throw JinjaError("*args and **kwargs are not supported", Peek().pos);
      std::string keyword;
      if (Peek().type == TokenType::kName && IsOp("=", 1)) {
        keyword = Next().text;
        Next();
      } else if (!node->arg_names.empty() && !node->arg_names.back().empty()) {
        throw JinjaError("a positional argument follows a keyword argument", Peek().pos);
      }
      node->args.push_back(Expression());
      node->arg_names.push_back(keyword);
    }
    ExpectOp(")");
  }

  NodePtr Call(NodePtr callee, SourcePos pos) {
    NodePtr node = Make(NodeKind::kCall, pos);
    node->kids.push_back(std::move(callee));
    Arguments(node.get());
    return node;
  }

  NodePtr FilterExpr(NodePtr node) {
    while (true) {
      const SourcePos pos = Peek().pos;
      if (SkipOp("|")) {
        NodePtr f = Make(NodeKind::kFilter, pos);
        f->name = ExpectName();
        while (SkipOp(".")) f->name += "." + ExpectName();
        f->kids.push_back(std::move(node));
        if (IsOp("(")) Arguments(f.get());
        node = std::move(f);
      } else if (SkipName("is")) {
        NodePtr t = Make(NodeKind::kTest, pos);
        t->negate = SkipName("not");
        t->name = ExpectName();
        t->kids.push_back(std::move(node));
        if (IsOp("(")) {
          Arguments(t.get());
        } else if (TestArgumentFollows()) {
          t->args.push_back(Postfix(Primary()));
          t->arg_names.emplace_back();
        }
        node = std::move(t);
      } else if (IsOp("(")) {
        node = Call(std::move(node), pos);
      } else {
        return node;
      }
    }
  }

  // jinja2 lets a test take one argument without parentheses: `x is divisibleby 3`, `x is sameas none`.
  // Its rule, kept exactly so the same templates fail: any name but else/or/and starts an argument (so
  // `x is defined if y` is an error there too), and a second `is` is refused.
  bool TestArgumentFollows() const {
    const Token& t = Peek();
    if (t.type == TokenType::kString || t.type == TokenType::kInt || t.type == TokenType::kFloat) return true;
    if (t.type == TokenType::kOperator) return t.text == "[" || t.text == "{";
    if (t.type != TokenType::kName) return false;
    if (t.text == "is") throw JinjaError("tests cannot be chained with 'is'", t.pos);
    return t.text != "else" && t.text != "or" && t.text != "and";
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  const int max_depth_;
  int depth_ = 0;
};

}  // namespace

NodePtr Parse(const std::vector<Token>& tokens, int max_depth) { return Parser(tokens, max_depth).Template(); }

}  // namespace fpgaserve::jinja
