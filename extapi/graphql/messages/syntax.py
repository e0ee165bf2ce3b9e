"""Syntax errors in graphql-php's words: a parser that describes tokens the graphql-php way
(``Unexpected Name "x"``, no trailing period) and lexer messages rewritten from the character
at the error position."""

from __future__ import annotations

import json
import re

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    Source,
    SourceLocation,
    TypeNode,
)
from graphql.language import Token, TokenKind
from graphql.language.lexer import Lexer
from graphql.language.parser import Parser

__all__ = ["PhpParser", "parse_document", "parse_counting", "MAX_NESTING", "TOO_DEEP"]

# Lists, input objects, selection sets and list types nested in one another: far beyond any
# real query, well within what the recursive parser, validation and execution can take.
MAX_NESTING = 64
TOO_DEEP = f"Document nests lists, objects or selections more than {MAX_NESTING} levels deep."


def _describe(token: Token) -> str:
    """graphql-php ``Token::getDescription``: the kind, then the value in double quotes."""
    return token.kind.value + ("" if token.value is None else f' "{token.value}"')


def _print_char(char: str) -> str:
    """graphql-php ``Utils::printCharCode``."""
    if not char:
        return "<EOF>"
    code = ord(char)
    if code < 0x7F:
        return json.dumps(char).replace("/", "\\/")
    return f'"\\u{code:x}"'


class _PhpLexer(Lexer):
    """graphql-php reads ``1a`` as the number 1 and the name ``a``; graphql-core refuses a
    number followed by a name start or a dot. Reading the number alone restores the former."""

    def read_number(self, start: int, first_char: str) -> Token:
        body = self.source.body
        position = start + (1 if first_char == "-" else 0)
        char = body[position : position + 1]
        is_float = False
        if char == "0":
            position += 1
            if body[position : position + 1].isdigit():
                raise _lexer_error(
                    self.source, position, "Invalid number, unexpected digit after 0"
                )
        else:
            position = self._digits(position)
        if body[position : position + 1] == ".":
            is_float = True
            position = self._digits(position + 1)
        if body[position : position + 1] in ("E", "e"):
            is_float = True
            position += 1
            if body[position : position + 1] in ("+", "-"):
                position += 1
            position = self._digits(position)
        kind = TokenKind.FLOAT if is_float else TokenKind.INT
        return self.create_token(kind, start, position, body[start:position])

    def read_string(self, start: int) -> Token:
        """A string read as graphql-php reads it. graphql-core fails with an IndexError on an
        escape cut short by the end of the document, and points its escape errors at the
        backslash; graphql-php names the character after it, and takes any second escape after
        a surrogate as its pair."""
        body = self.source.body
        position = chunk_start = start + 1
        value: list[str] = []
        while position < len(body) and body[position] not in "\n\r":
            char = body[position]
            if char == '"':
                value.append(body[chunk_start:position])
                return self.create_token(TokenKind.STRING, start, position + 1, "".join(value))
            if char < " " and char != "\t":
                raise _string_character_error(self.source, position, char)
            if char != "\\":
                position += 1
                continue
            value.append(body[chunk_start:position])
            escape = body[position + 1 : position + 2]
            if escape == "u":
                text, position = self._unicode_escape(position)
                value.append(text)
            elif escape and escape in _ESCAPES:
                value.append(_ESCAPES[escape])
                position += 2
            else:
                # at the end of the document graphql-php reads a NUL and points at the backslash
                at = position + 1 if escape else position
                message = "Invalid character escape sequence: \\" + (escape or "\x00")
                raise _PhpSyntaxError(self.source, at, message)
            chunk_start = position
        raise _PhpSyntaxError(self.source, position, "Unterminated string.")

    def _unicode_escape(self, backslash: int) -> tuple[str, int]:
        """The ``\\uXXXX`` escape at ``backslash``: its text and the position after it."""
        body = self.source.body
        hex_start = backslash + 2
        digits = body[hex_start : hex_start + 4]
        if not _HEX4.fullmatch(digits):
            message = "Invalid character escape sequence: \\u" + digits
            raise _PhpSyntaxError(self.source, backslash + 1, message)
        code = int(digits, 16)
        end = hex_start + 4
        if 0xD8 <= code >> 8 <= 0xDF:
            pair = body[end : end + 6]
            if not (pair.startswith("\\u") and _HEX4.fullmatch(pair[2:])):
                message = f"Invalid UTF-16 trailing surrogate: {pair}"
                error = _PhpSyntaxError(self.source, min(end + 1, len(body)), message)
                if end + 1 > len(body) and error.locations:
                    # graphql-php moves past the end of a document cut short; so does its column
                    line, column = error.locations[0]
                    error.locations = [SourceLocation(line, column + end + 1 - len(body))]
                raise error
            units = bytes.fromhex(digits + pair[2:])
            # PHP's mbstring puts "?" where the two units do not make one character
            return units.decode("utf-16-be", errors="replace").replace("\ufffd", "?"), end + 6
        char = chr(code)
        if code < 0x20 and char != "\t":
            raise _string_character_error(self.source, backslash, char)
        return char, end

    def read_block_string(self, start: int) -> Token:
        self._refuse_control_characters(start + 3, block=True)
        return super().read_block_string(start)

    def _refuse_control_characters(self, position: int, block: bool) -> None:
        """graphql-php refuses control characters other than tab inside a string (and line
        breaks inside a block string); graphql-core lets them through."""
        body = self.source.body
        allowed = "\t\n\r" if block else "\t"
        while position < len(body):
            char = body[position]
            if char == '"' and (not block or body.startswith('"""', position)):
                return
            if char in "\n\r" and not block:
                return
            if char == "\\":
                position += 2 if not block or not body.startswith('\\"""', position) else 4
                continue
            if char < " " and char not in allowed:
                message = f"Invalid character within String: {_print_char(char)}"
                raise GraphQLSyntaxError(self.source, position, message)
            position += 1

    def _digits(self, position: int) -> int:
        body = self.source.body
        if not "0" <= body[position : position + 1] <= "9":
            raise _lexer_error(self.source, position, "Invalid number, expected digit but got")
        while position < len(body) and "0" <= body[position] <= "9":
            position += 1
        return position


_ESCAPES = {'"': '"', "/": "/", "\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")


class _PhpSyntaxError(GraphQLSyntaxError):
    """A syntax error already in graphql-php's words."""


def _string_character_error(source: Source, position: int, char: str) -> GraphQLSyntaxError:
    message = f"Invalid character within String: {_print_char(char)}"
    return _PhpSyntaxError(source, position, message)


def _lexer_error(source: Source, position: int, text: str) -> GraphQLSyntaxError:
    return GraphQLSyntaxError(
        source, position, f"{text}: {_print_char(source.body[position : position + 1])}"
    )


class PhpParser(Parser):
    """graphql-core's parser with graphql-php's token descriptions and lexer messages.

    The parser is recursive, so it also refuses a document that nests selection sets, list
    or object values or list types more than :data:`MAX_NESTING` levels deep, before Python
    runs out of stack. graphql-php would parse such a document and refuse it later (by its
    depth limit, or as a wrong argument value); extapi answers a syntax error instead.
    """

    def __init__(self, source: str, max_tokens: int | None = None) -> None:
        super().__init__(source, no_location=False, max_tokens=max_tokens)
        self._lexer = _PhpLexer(self._lexer.source)
        self._nesting = 0

    def _enter(self) -> None:
        self._nesting += 1
        if self._nesting > MAX_NESTING:
            raise _PhpSyntaxError(self._lexer.source, self._lexer.token.start, TOO_DEEP)

    def parse_selection_set(self) -> SelectionSetNode:
        self._enter()
        node = super().parse_selection_set()
        self._nesting -= 1
        return node

    def parse_list(self, is_const: bool) -> ListValueNode:
        self._enter()
        node = super().parse_list(is_const)
        self._nesting -= 1
        return node

    def parse_object(self, is_const: bool) -> ObjectValueNode:
        self._enter()
        node = super().parse_object(is_const)
        self._nesting -= 1
        return node

    def parse_type_reference(self) -> TypeNode:
        self._enter()
        node = super().parse_type_reference()
        self._nesting -= 1
        return node

    def expect_token(self, kind: TokenKind) -> Token:
        token = self._lexer.token
        if token.kind != kind:
            raise self._error(token, f"Expected {kind.value}, found {_describe(token)}")
        return super().expect_token(kind)

    def expect_keyword(self, value: str) -> None:
        token = self._lexer.token
        if token.kind != TokenKind.NAME or token.value != value:
            raise self._error(token, f'Expected "{value}", found {_describe(token)}')
        super().expect_keyword(value)

    def unexpected(self, at_token: Token | None = None) -> GraphQLError:
        token = at_token or self._lexer.token
        return self._error(token, f"Unexpected {_describe(token)}")

    def _error(self, token: Token, description: str) -> GraphQLSyntaxError:
        return GraphQLSyntaxError(self._lexer.source, token.start, description)


def parse_document(text: str, max_tokens: int | None = None) -> DocumentNode:
    """Parse ``text``; a syntax error carries graphql-php's description."""
    return parse_counting(text, max_tokens)[0]


def parse_counting(text: str, max_tokens: int | None) -> tuple[DocumentNode, int]:
    """:func:`parse_document`, also telling how many tokens the document holds (counted only
    when ``max_tokens`` is given)."""
    parser = PhpParser(text, max_tokens)
    try:
        return parser.parse_document(), parser._token_counter
    except GraphQLSyntaxError as error:
        raise _php_lexer_error(error) from None


def _token_after(source: Source, position: int) -> Token:
    lexer = _PhpLexer(source)
    token = lexer.advance()
    while token.kind != TokenKind.EOF and token.start <= position:
        token = lexer.advance()
    return token


_CONST_VARIABLE = re.compile(r"^Unexpected variable '\$.*' in constant value\.$")
_LEXER_TEXT = re.compile(
    r"^(Unexpected character|Invalid character|Invalid Unicode escape|Unexpected variable"
    r"|Unexpected description)"
)


def _php_lexer_error(error: GraphQLSyntaxError) -> GraphQLSyntaxError:
    """Rewrite a graphql-core lexer message from the source character it points at."""
    if isinstance(error, _PhpSyntaxError):
        return error
    description = error.description
    source = error.source
    position = list(error.positions)[0] if error.positions else 0
    if source is None or not _LEXER_TEXT.match(description):
        return error
    char = source.body[position : position + 1]
    text = description
    if description.startswith(("Unexpected character", "Invalid character:")):
        code = ord(char)
        text = (
            f"Cannot contain the invalid character {_print_char(char)}"
            if code < 0x20 and char not in "\t\n\r"
            else f"Cannot parse the unexpected character {_print_char(char)}."
        )
    elif description.startswith("Invalid character within String"):
        text = f"Invalid character within String: {_print_char(char)}"
    elif description.startswith(("Invalid character escape", "Invalid Unicode escape")):
        escape = re.search(r"'(.*)'\.$", description)
        text = "Invalid character escape sequence: " + (escape.group(1) if escape else "")
    elif _CONST_VARIABLE.match(description):
        text = "Unexpected $"
    elif description.startswith("Unexpected description"):
        # graphql-php reads a description as the start of a type definition and then
        # refuses the keyword after it.
        token = _token_after(source, position)
        return GraphQLSyntaxError(source, token.start, f"Unexpected {_describe(token)}")
    return GraphQLSyntaxError(source, position, text)
