"""Reading the multipart upload form (pure logic, no AWS)."""

from __future__ import annotations

import base64
import gzip

import pytest
from urllib3 import encode_multipart_formdata

from lambdas.common.errors import EmptyFile, FileTooLarge, InvalidFileType, MalformedRequest, MissingFile
from lambdas.intake.form import B64_SLICE, read_upload_form

CSV = b"user_username\njdoe\n"


def read(parts, *, max_bytes=10_000, encode=True, content_type=None):
    body, ctype = encode_multipart_formdata(parts, boundary="b0undary")
    data = base64.b64encode(body).decode() if encode else body
    return read_upload_form(data, is_base64=encode, content_type=content_type or ctype, max_bytes=max_bytes)


def test_file_part_and_dry_run_are_read():
    form = read([("dryRun", "true"), ("file", ("users.csv", CSV, "text/csv"))])
    assert (form.file_name, bytes(form.content), form.dry_run, form.compressed) == ("users.csv", CSV, True, False)


def test_body_that_is_not_base64_encoded_is_read_as_is():
    assert bytes(read([("file", ("users.csv", CSV, "text/csv"))], encode=False).content) == CSV


def test_body_longer_than_one_base64_slice_is_reassembled_exactly():
    content = b"h\n" + b"0123456789abcdef\n" * (B64_SLICE // 8)
    assert bytes(read([("file", ("users.csv", content, "text/csv"))], max_bytes=len(content)).content) == content


def test_other_fields_are_ignored():
    assert read([("comment", "x"), ("file", ("users.csv", CSV, "text/csv"))]).file_name == "users.csv"


def test_file_name_is_reduced_to_its_last_path_component():
    assert read([("file", ("C:\\temp\\..\\users.csv", CSV, "text/csv"))]).file_name == "users.csv"


def test_missing_file_part():
    with pytest.raises(MissingFile):
        read([("dryRun", "false")])


def test_part_named_otherwise_is_not_a_file_part():
    with pytest.raises(MissingFile):
        read([("upload", ("users.csv", CSV, "text/csv"))])


def test_not_multipart_is_malformed():
    with pytest.raises(MalformedRequest, match="multipart/form-data"):
        read([("file", ("users.csv", CSV, "text/csv"))], content_type="application/x-www-form-urlencoded")


def test_missing_boundary_is_malformed():
    with pytest.raises(MalformedRequest, match="boundary"):
        read([("file", ("users.csv", CSV, "text/csv"))], content_type="multipart/form-data")


def test_invalid_base64_is_malformed():
    with pytest.raises(MalformedRequest, match="base64"):
        read_upload_form("@@@not base64", is_base64=True, content_type="multipart/form-data; boundary=x", max_bytes=10)


def test_body_cut_off_anywhere_is_malformed():
    body, ctype = encode_multipart_formdata([("file", ("users.csv", CSV, "text/csv"))], boundary="b0undary")
    assert body.endswith(b"--b0undary--\r\n")
    for cut in range(len(body) - 3, 0, -1):  # the final CRLF is optional; any byte before it is not
        with pytest.raises(MalformedRequest):
            read_upload_form(body[:cut], is_base64=False, content_type=ctype, max_bytes=1000)


def test_two_file_parts_are_malformed():
    with pytest.raises(MalformedRequest, match="several"):
        read([("file", ("a.csv", CSV, "text/csv")), ("file", ("b.csv", CSV, "text/csv"))])


def test_too_many_parts_are_malformed():
    with pytest.raises(MalformedRequest):
        read([(f"f{i}", "x") for i in range(100)] + [("file", ("a.csv", CSV, "text/csv"))])


def test_empty_file_part():
    with pytest.raises(EmptyFile):
        read([("file", ("users.csv", b"", "text/csv"))])


def test_name_and_type_both_not_csv_is_invalid_file_type():
    with pytest.raises(InvalidFileType):
        read([("file", ("users.json", CSV, "application/json"))])


def test_plain_file_over_the_limit_is_too_large():
    with pytest.raises(FileTooLarge):
        read([("file", ("users.csv", CSV, "text/csv"))], max_bytes=len(CSV) - 1)


def test_gzip_file_is_decompressed():
    form = read([("file", ("users.csv.gz", gzip.compress(CSV), "application/gzip"))])
    assert (bytes(form.content), form.compressed) == (CSV, True)


def test_multi_member_gzip_is_decompressed_whole():
    form = read([("file", ("users.csv.gz", gzip.compress(CSV) + gzip.compress(b"asmith\n"), "application/gzip"))])
    assert bytes(form.content) == CSV + b"asmith\n"


def test_gzip_decompressed_over_the_limit_is_too_large_and_stops_early():
    with pytest.raises(FileTooLarge, match="decompressed"):
        read([("file", ("users.csv.gz", gzip.compress(b"a" * 1_000_000), "application/gzip"))], max_bytes=1000)


def test_gzip_decompressing_to_nothing_is_empty():
    with pytest.raises(EmptyFile):
        read([("file", ("users.csv.gz", gzip.compress(b""), "application/gzip"))])


def test_garbage_declared_gzip_is_invalid_file_type():
    with pytest.raises(InvalidFileType, match="gzip"):
        read([("file", ("users.csv.gz", b"not gzip at all", "application/gzip"))])


def test_dry_run_must_be_true_or_false():
    with pytest.raises(MalformedRequest, match="dryRun"):
        read([("dryRun", "yes"), ("file", ("users.csv", CSV, "text/csv"))])
