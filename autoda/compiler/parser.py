"""The parser facade: the only module that imports Lark.

``parse(source)`` returns a ``Policy`` tree or raises ``PolicyError``; no Lark exception
leaves this module. After a syntax error it blanks the offending logical line and parses
again, so one run reports the syntax errors of several independent lines, and it stops at
the first error in a line that opens a section, where going on would only report echoes.
"""
from __future__ import annotations

import functools
import unicodedata

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from ..resources import resource_text
from . import ast
from .diagnostics import MAX_DIAGNOSTICS, Diagnostic, PolicyError
from .limits import MAX_DEPTH, expression_limits
from .source import Source, brackets, check_tokens

# Lark's parse tree may nest a little deeper than the syntax tree (a unary '+' is a level
# there and none here; '-3' is two levels there and one literal here), and the syntax tree
# is what MAX_DEPTH limits; this only keeps the tree builder's recursion bounded.
MAX_PARSE_DEPTH = MAX_DEPTH + 10
# After a syntax error the parser blanks the line and parses again, to report the next
# error; it stops once the re-parses together have read this many characters, so a long
# policy with errors near its end costs a few parses, not twenty.
RECOVERY_BUDGET = 30_000
# int() refuses literals of over 4,300 digits; any literal this long is far past what the
# range checker allows, so it is read as this stand-in, and the checker reports it (R001).
MAX_DIGITS = 30

_OPENERS = {"LPAR", "LSQB"}
_CLOSERS = {"RPAR", "RSQB"}


class _Newlines(PostLex):
    """Newlines end statements, except inside brackets; runs of them count as one."""

    always_accept = ("_NL",)

    def process(self, stream):
        depth = 0
        last = None
        for token in stream:
            if token.type == "_NL":
                if depth == 0 and last is not None and last.type != "_NL":
                    last = token
                    yield token
                continue
            if token.type in _OPENERS:
                depth += 1
            elif token.type in _CLOSERS:
                depth = max(0, depth - 1)
            last = token
            yield token
        if last is not None and last.type != "_NL":
            yield Token.new_borrow_pos("_NL", "", last)


def grammar_text() -> str:
    """grammar/policy.lark, from the source tree or from the installed package."""
    return resource_text("autoda.grammar", "policy.lark")


def grammar_rules() -> tuple[list[tuple[str, str | None, tuple[tuple[str, bool], ...]]], dict[str, tuple[str, str]]]:
    """The grammar as the parser runs it, for decode_grammar: its rules in plain BNF (Lark
    expands ``?``, ``*`` and ``[...]`` into alternatives and helper rules named
    ``__RULE_star_N``), each ``(rule, alias, ((symbol, is_token), ...))``, and its tokens,
    each name to ``("string", text)`` or ``("regex", pattern)``."""
    lark = _lark()
    rules = [(str(r.origin.name), r.alias, tuple((str(s.name), s.is_term) for s in r.expansion)) for r in lark.rules]
    tokens = {t.name: ("string" if t.pattern.type == "str" else "regex", t.pattern.value) for t in lark.terminals}
    return rules, tokens


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(grammar_text(), parser="lalr", strict=True, postlex=_Newlines(),
                propagate_positions=True, maybe_placeholders=True)


# --- syntax errors ----------------------------------------------------------------------

_PYTHON_WORDS = {
    "if": "'if' statements are not part of the policy language",
    "elif": "'elif' is not part of the policy language",
    "else": "'else' blocks are not part of the policy language",
    "for": "loops are not part of the policy language",
    "while": "loops are not part of the policy language",
    "def": "functions cannot be defined in a policy",
    "lambda": "functions cannot be defined in a policy",
    "class": "classes are not part of the policy language",
    "import": "imports are not part of the policy language",
    "from": "imports are not part of the policy language",
    "return": "a section returns nothing; assign to state instead",
    "try": "exceptions are not part of the policy language",
    "with": "'with' blocks are not part of the policy language",
}
_PYTHON_HINTS = {
    "if": "write a conditional expression, 'a if cond else b', or where(cond, a, b)",
    "elif": "chain conditional expressions: 'a if c1 else b if c2 else d'",
    "else": "write a conditional expression, 'a if cond else b'",
    "for": "every value is already a vector over classes; write the expression once",
    "while": "every value is already a vector over classes; write the expression once",
}
_CHAR_HINTS = {
    "{": "a policy is not JSON; it starts with 'policy NAME'",
    "}": "a policy is not JSON; it starts with 'policy NAME'",
    ";": "statements end at the end of a line",
    "'": "a description is written in double quotes",
    "&": "write 'and'",
    "|": "write 'or'",
    "!": "write 'not' (or '!=' to compare)",
    "^": "write '**' for powers",
}
_LINE_SEPARATORS = "\x85\u2028\u2029"


def _char_hint(char: str) -> str | None:
    """A hint for an unexpected character; non-ASCII ones get a reason, since many look like
    ASCII (a Cyrillic 'а', a fullwidth '３') or like a line break (U+2028)."""
    if char in _CHAR_HINTS:
        return _CHAR_HINTS[char]
    if char in _LINE_SEPARATORS:
        return "only a newline ends a line in a policy; this separator is allowed only in comments"
    if char.isascii():
        return None
    if unicodedata.numeric(char, None) is not None:
        return "numbers are written with the ASCII digits 0-9"
    if char.isalpha():
        return "names are written with ASCII letters, digits and '_'"
    if char == "\ufeff":
        return "a byte order mark may stand only at the very start of the text"
    return "outside comments and descriptions a policy is ASCII text"


def _describe_char(char: str) -> str:
    return repr(char) if char.isascii() else f"{char!r} (U+{ord(char):04X})"


_SECTION_WORDS = {"policy", "every", "per", "apply", "one"}  # a fault there stops the recovery
_EXPRESSION_START = {"NAME", "NUMBER", "LPAR", "MINUS", "PLUS", "NOT", "TRUE", "FALSE"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "POW", "COMPARE", "AND", "OR", "IF"}


@functools.lru_cache(maxsize=1)
def _terminal_names() -> dict[str, str]:
    names = {"NAME": "a name", "NUMBER": "a number", "STRING": 'a "description"',
             "_NL": "end of line", "$END": "end of text", "COMPARE": "a comparison",
             "ASSIGN_OP": "'='"}
    for terminal in _lark().terminals:
        if terminal.name not in names and terminal.pattern.type == "str":
            names[terminal.name] = repr(terminal.pattern.value)
    return names


def _describe_expected(expected: set[str]) -> str:
    names = _terminal_names()
    expected = {e for e in expected if not e.startswith("__IGNORE")}
    words = []
    if {"NAME", "NUMBER", "LPAR"} <= expected:
        expected -= _EXPRESSION_START
        words.append("an expression")
    if len(expected & _OPERATORS) >= 3:
        expected -= _OPERATORS
        words.append("an operator")
    words += sorted(names.get(e, e) for e in expected)
    if not words:
        return ""
    if len(words) > 6:
        words = words[:6] + ["..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _acceptable(error: UnexpectedToken) -> set[str]:
    """The tokens the parser would really take here (LALR's lookahead sets list more)."""
    try:
        return set(error.interactive_parser.accepts()) or set(error.expected)
    except Exception:  # noqa: BLE001 - a worse message, never a crash
        return set(error.expected)


def _misplaced_section(word: str, lines: list[str], line: int) -> str | None:
    """A section line after a section it must precede."""
    earlier = [text.split("#", 1)[0].split() for text in lines[: line - 1]]
    starts = {words[0] for words in earlier if words}
    if word == "state" and starts & {"every", "per"}:
        return "state declarations come before the 'every epoch:' and 'per sample:' sections"
    if word == "every" and "per" in starts:
        return "the 'every epoch:' section comes before 'per sample:'"
    return None


def _token_text(token: Token) -> str:
    if token.type == "_NL":
        return "end of line"
    if token.type == "$END":
        return "end of text"
    text = str(token)
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _logical_lines(text: str) -> list[tuple[int, int]]:
    """(first, last) physical line numbers of each statement; brackets join lines."""
    spans = []
    depth = 0
    first = 1
    for ch, line, _ in brackets(text):
        if ch == "\n":
            if depth == 0:
                spans.append((first, line))
                first = line + 1
        elif ch in "([":
            depth += 1
        else:
            depth = max(0, depth - 1)
    spans.append((first, text.count("\n") + 1))
    return spans


_PAIRS = {")": "(", "]": "["}


def _unbalanced_bracket(text: str) -> Diagnostic | None:
    """The first bracket without a partner, as Python reports it, or None."""
    stack: list[tuple[str, int, int]] = []
    for ch, line, column in brackets(text):
        if ch in "([":
            stack.append((ch, line, column))
        elif ch in ")]":
            if not stack or stack[-1][0] != _PAIRS[ch]:
                return Diagnostic("S005", f"unmatched {ch!r}", line, column, column + 1)
            stack.pop()
    if stack:
        ch, line, column = stack[-1]
        return Diagnostic("S005", f"{ch!r} was never closed", line, column, column + 1)
    return None


def _first_word(lines: list[str], first: int, last: int) -> tuple[str, int, int]:
    """The first word of a logical line, with its line and column."""
    for number in range(first, last + 1):
        text = lines[number - 1].split("#", 1)[0]
        stripped = text.lstrip()
        if stripped:
            word = ""
            for ch in stripped:
                if not (ch.isalnum() or ch == "_"):
                    break
                word += ch
            return word, number, len(text) - len(stripped) + 1
    return "", first, 1


def _syntax_diagnostic(error: UnexpectedInput, lines: list[str], statement: tuple[int, int],
                       is_first_statement: bool) -> Diagnostic:
    word, word_line, word_column = _first_word(lines, *statement)
    if word in _PYTHON_WORDS:
        hint = _PYTHON_HINTS.get(word, "see the language reference, docs/language.md")
        if is_first_statement:
            hint = "this looks like Python; a policy starts with 'policy NAME'"
        return Diagnostic("S004", _PYTHON_WORDS[word], word_line, word_column, word_column + len(word), hint=hint)
    if is_first_statement and word != "policy":
        return Diagnostic("S001", "a policy starts with 'policy NAME'", word_line, word_column,
                          word_column + max(1, len(word)),
                          hint="write 'policy NAME' on the first line, then the sections")
    line, column = error.line, error.column
    if isinstance(error, UnexpectedCharacters):
        char = error.char
        return Diagnostic("S002", f"unexpected character {_describe_char(char)}", line, column, column + 1,
                          hint=_char_hint(char))
    assert isinstance(error, UnexpectedToken)
    misplaced = _misplaced_section(word, lines, statement[0])
    if misplaced:
        return Diagnostic("S001", misplaced, word_line, word_column, word_column + len(word),
                          hint="a policy is: 'policy NAME', state lines, 'every epoch:', 'per sample:'")
    token = error.token
    expected = _describe_expected(_acceptable(error))
    message = f"unexpected {_token_text(token)}" + (f"; expected {expected}" if expected else "")
    if token.type == "$END":
        end = len(lines[-1]) + 1
        hint = "the per-sample section needs a stage, e.g. 'identity'" if "APPLY" in error.expected else None
        return Diagnostic("S003", message, len(lines), end, end + 1, hint)
    if token.type == "_NL":
        line, column = token.line, token.column
        return Diagnostic("S001", message, line, column, column + 1)
    hint = None
    if token.type == "NAME" and str(token) in {"True", "False"}:
        hint = f"write {str(token).lower()!r}"
    elif token.type == "EQUAL" or (token.type == "ASSIGN_OP" and "COMPARE" in error.expected):
        hint = "compare with '=='"
    elif str(token) in ("magnitude", "weight", "probability"):
        hint = f"'{token}' is a clause of an apply stage: put it on its own line below the stage, indented deeper"
    end = token.end_column if token.end_line == token.line else column + 1
    return Diagnostic("S001", message, line, column, end, hint)


def _blank(text: str, first: int, last: int) -> str:
    lines = text.split("\n")
    for number in range(first - 1, min(last, len(lines))):
        lines[number] = " " * len(lines[number])
    return "\n".join(lines)


def _has_code(lines: list[str], statement: tuple[int, int]) -> bool:
    return any(lines[n - 1].split("#", 1)[0].strip() for n in range(statement[0], statement[1] + 1))


def _parse_tree(src: Source) -> Tree:
    lines = src.lines
    text = src.text
    diagnostics: list[Diagnostic] = []
    blanked: set[tuple[int, int]] = set()
    statements: list[tuple[int, int]] = []  # worked out on the first error only
    first_statement = None
    reparsed = 0  # characters read by the parses after the first
    while True:
        try:
            tree = _lark().parse(text)
        except UnexpectedInput as error:
            if diagnostics:
                reparsed += getattr(error, "pos_in_stream", None) or len(text)
            bracket = _unbalanced_bracket(text)
            if bracket is not None:  # every later error would be an echo of this one
                raise PolicyError(diagnostics + [bracket], lines) from None
            if first_statement is None:
                statements = _logical_lines(src.text)
                first_statement = next((s for s in statements if _has_code(lines, s)), statements[0])
            at_end = isinstance(error, UnexpectedToken) and error.token.type == "$END"
            line = len(lines) if at_end else max(1, getattr(error, "line", 1))
            statement = next((s for s in statements if s[0] <= line <= s[1]), (line, line))
            diagnostics.append(_syntax_diagnostic(error, lines, statement, statement == first_statement))
            word = _first_word(lines, *statement)[0]
            if (statement in blanked or word in _SECTION_WORDS or statement == first_statement
                    or diagnostics[-1].code == "S003" or len(diagnostics) >= MAX_DIAGNOSTICS
                    or reparsed > RECOVERY_BUDGET):
                raise PolicyError(diagnostics, lines) from None
            blanked.add(statement)
            text = _blank(text, *statement)
            continue
        except LarkError as error:  # any other Lark failure is still only a syntax error
            diagnostics.append(Diagnostic("S001", f"cannot parse the policy: {error}", 1, 1))
            raise PolicyError(diagnostics, lines) from None
        if diagnostics:
            raise PolicyError(diagnostics, lines)
        return tree


def _check_depth(tree: Tree, lines: list[str]) -> None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_PARSE_DEPTH:
            meta = node.meta
            raise PolicyError([Diagnostic(
                "I004", f"expression nests more than {MAX_DEPTH} levels deep",
                getattr(meta, "line", 1), getattr(meta, "column", 1),
                hint="use let to name parts of a long expression")], lines)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def parse(src: Source) -> ast.Policy:
    """Parse checked source text into a syntax tree, or raise PolicyError."""
    check_tokens(src.text, src.file, src.lines)  # the parse's cost grows with the tokens
    tree = _parse_tree(src)
    _check_depth(tree, src.lines)
    policy = _TreeBuilder().policy(tree)
    faults = expression_limits(policy)
    if faults:
        raise PolicyError(faults, src.lines)
    return policy


# --- Lark tree -> syntax tree -----------------------------------------------------------

def _span_of(item: Tree | Token) -> ast.Span:
    if isinstance(item, Token):
        return ast.Span(item.line, item.column, item.end_line, item.end_column)
    meta = item.meta
    if getattr(meta, "empty", True):
        return ast.Span.none()
    return ast.Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _number(token: Token, negative: bool = False) -> int | float:
    text = str(token)
    value: int | float
    if any(c in text for c in ".eE"):
        value = float(text)  # no digit limit; a huge one is inf, which the range checker refuses
    else:
        value = int(text) if len(text) <= MAX_DIGITS else 10 ** MAX_DIGITS
    return -value if negative else value


_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%", "pow": "**",
           "or_": "or", "and_": "and"}
_ASSIGN_OPS = {"+=": "+", "-=": "-", "*=": "*", "/=": "/"}


class _TreeBuilder:
    """Turns Lark's parse tree into ``ast`` nodes (depth already bounded by MAX_PARSE_DEPTH)."""

    def policy(self, tree: Tree) -> ast.Policy:
        header, *rest = tree.children
        name_token = header.children[0]
        description = str(header.children[1])[1:-1] if len(header.children) > 1 else None
        states = tuple(self.state(t) for t in rest if t.data == "state_decl")
        epoch_tree = next((t for t in rest if t.data == "epoch_section"), None)
        sample_tree = next(t for t in rest if t.data == "sample_section")
        epoch = None if epoch_tree is None else tuple(self.statement(t) for t in epoch_tree.children)
        stages = tuple(self.stage(t) for t in sample_tree.children)
        return ast.Policy(str(name_token), description, states, epoch, stages, _span_of(tree),
                          _span_of(epoch_tree) if epoch_tree is not None else ast.Span.none(),
                          _span_of(sample_tree))

    def literal(self, tree: Tree) -> ast.Num | ast.Bool:
        if tree.data == "true":
            return ast.Bool(True, _span_of(tree))
        if tree.data == "false":
            return ast.Bool(False, _span_of(tree))
        return ast.Num(_number(tree.children[0], tree.data == "negative_number"), _span_of(tree))

    def state(self, tree: Tree) -> ast.StateDecl:
        name, type_tree, *rest = tree.children
        per_op = any(isinstance(t, Tree) and t.data == "per_op" for t in rest)
        bounds = next((t for t in rest if isinstance(t, Tree) and t.data == "state_range"), None)
        lo = hi = None
        if bounds is not None:
            lo, hi = (self.literal(t) for t in bounds.children)
        init = self.literal(rest[-1])
        return ast.StateDecl(str(name), type_tree.data.removesuffix("_type"), per_op, lo, hi, init,
                             _span_of(tree), _span_of(name))

    def statement(self, tree: Tree) -> ast.Statement:
        if tree.data == "let":
            name, value = tree.children
            return ast.Let(str(name), self.expr(value), _span_of(tree), _span_of(name))
        name, op, value = tree.children
        expr = self.expr(value)
        if str(op) in _ASSIGN_OPS:  # x += e  is  x = x + e
            expr = ast.Binary(_ASSIGN_OPS[str(op)], ast.Name(str(name), _span_of(name)), expr, _span_of(tree))
        return ast.Assign(str(name), expr, _span_of(tree), _span_of(name))

    def stage(self, tree: Tree) -> ast.Stage:
        if tree.data == "apply":
            count, op_list, *clauses = tree.children
            ops = tuple(ast.OpRef(str(t), _span_of(t)) for t in op_list.children)
            return ast.Apply(self.expr(count), ops,
                             tuple(ast.Clause(c.data, self.expr(c.children[0]), _span_of(c)) for c in clauses),
                             _span_of(tree))
        if tree.data == "one_of":
            return ast.OneOf(tuple(tuple(self.term(t) for t in sub.children) for sub in tree.children),
                             _span_of(tree))
        return self.term(tree.children[0])

    def term(self, tree: Tree) -> ast.Fixed:
        name, magnitude, probability = tree.children
        return ast.Fixed(ast.OpRef(str(name), _span_of(name)),
                         None if magnitude is None else self.expr(magnitude),
                         None if probability is None else self.expr(probability), _span_of(tree))

    def expr(self, item: Tree | Token) -> ast.Expr:
        span = _span_of(item)
        kind = item.data
        c = item.children
        if kind == "number":
            return ast.Num(_number(c[0]), span)
        if kind == "true":
            return ast.Bool(True, span)
        if kind == "false":
            return ast.Bool(False, span)
        if kind == "name":
            return ast.Name(str(c[0]), span)
        if kind == "call":
            return ast.Call(str(c[0]), tuple(self.expr(a) for a in c[1:] if a is not None), span, _span_of(c[0]))
        if kind == "neg":
            operand = self.expr(c[0])
            if isinstance(operand, ast.Num):  # -3 is one literal
                return ast.Num(-operand.value, span)
            return ast.Unary("-", operand, span)
        if kind == "pos":
            return self.expr(c[0])
        if kind == "not_":
            return ast.Unary("not", self.expr(c[0]), span)
        if kind == "cond":
            body, test, orelse = c
            return ast.Cond(self.expr(body), self.expr(test), self.expr(orelse), span)
        if kind == "compare":  # a < b < c: one node, so that b is no child of two parents
            operands = tuple(self.expr(x) for x in c[0::2])
            ops = tuple(str(op) for op in c[1::2])
            if len(ops) == 1:
                return ast.Binary(ops[0], operands[0], operands[1], span)
            return ast.Compare(operands, ops, span)
        if kind in _BINARY:
            if kind == "pow":
                return ast.Binary("**", self.expr(c[0]), self.expr(c[2]), span)
            return ast.Binary(_BINARY[kind], self.expr(c[0]), self.expr(c[1]), span)
        raise AssertionError(f"unhandled parse node {kind!r}")
