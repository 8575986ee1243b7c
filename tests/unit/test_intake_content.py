"""CSV content checks of the upload route (pure logic, no AWS)."""

from __future__ import annotations

import pytest

from lambdas.common.errors import EmptyFile, InvalidFileType
from lambdas.intake.content import DECODE_CHUNK, HEADER_LIMIT, check_csv_content


def test_plain_csv_passes():
    check_csv_content(b"user_username,user_name\njdoe,John\n")


def test_bom_is_allowed():
    check_csv_content(b"\xef\xbb\xbfuser_username\njdoe\n")


def test_bom_in_the_middle_is_valid_text():
    check_csv_content(b"user_username\n\xef\xbb\xbfjdoe\n")


def test_header_without_line_break_is_a_complete_header():
    check_csv_content(b"user_username,user_name")


def test_empty_content_is_empty_file():
    with pytest.raises(EmptyFile):
        check_csv_content(b"")


def test_invalid_utf8_reports_its_offset():
    with pytest.raises(InvalidFileType, match="offset 5"):
        check_csv_content(b"abc\nd\xff\n")


def test_invalid_utf8_after_the_first_decode_chunk_is_found():
    content = b"h\n" + b"a" * DECODE_CHUNK + b"\xc3"
    with pytest.raises(InvalidFileType, match=f"offset {DECODE_CHUNK + 2}"):
        check_csv_content(content)


def test_multibyte_character_across_decode_chunks_is_valid():
    content = b"h\n" + b"a" * (DECODE_CHUNK - 3) + "é".encode() + b"\n"
    check_csv_content(content)


def test_nul_byte_is_invalid_file_type():
    with pytest.raises(InvalidFileType, match="NUL"):
        check_csv_content(b"a,b\n1,\x002\n")


@pytest.mark.parametrize("magic", [b"\x89PNG\r\n\x1a\n", b"%PDF-", b"PK\x03\x04", b"\x1f\x8b\x08"])
def test_binary_magic_is_invalid_file_type(magic):
    with pytest.raises(InvalidFileType):
        check_csv_content(magic + b"rest of file\n")


def test_unterminated_quote_in_header_is_invalid_file_type():
    with pytest.raises(InvalidFileType, match="header"):
        check_csv_content(b'user_username,"user_name\n')


def test_header_longer_than_the_limit_is_invalid_file_type():
    with pytest.raises(InvalidFileType, match="64 KiB"):
        check_csv_content(b"c" * (HEADER_LIMIT + 10) + b"\nrow\n")


def test_quoted_newline_in_header_of_a_long_file_is_accepted():
    check_csv_content(b'"a\nb",c\n' + b"x,y\n" * (HEADER_LIMIT // 4))
