"""The uploads bucket as the intake sees it: store a pending file, presign a POST for one."""

from __future__ import annotations

import base64
import io
from typing import Any

from lambdas.common.s3client import s3_client
from lambdas.jobs.objects import UploadMetadata, source_key


class BufferReader(io.RawIOBase):
    """A seekable read-only file over a buffer, so the SDK streams the upload without copying it."""

    def __init__(self, data: bytes | bytearray) -> None:
        self._view = memoryview(data)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), len(self._view) - self._position)
        buffer[:count] = self._view[self._position : self._position + count]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def __len__(self) -> int:
        return len(self._view)


class ObjectStore:
    def __init__(self, bucket: str, *, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client or s3_client()

    def put_pending(
        self, reference_id: str, content: bytes | bytearray, *, sha256_digest: bytes, metadata: UploadMetadata
    ) -> None:
        """Store the file; S3 verifies the SHA-256 we computed anyway, so botocore need not hash it again.
        Encryption at rest is the bucket's default (SSE-KMS on AWS)."""
        self._client.put_object(
            Bucket=self.bucket,
            Key=source_key(reference_id),
            Body=BufferReader(content),
            ContentType="text/csv; charset=utf-8",
            ChecksumSHA256=base64.b64encode(sha256_digest).decode("ascii"),
            Metadata=metadata.as_s3(),
        )

    def presign_pending_post(
        self, reference_id: str, *, metadata: UploadMetadata, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """A presigned POST that can only write this reference's key, with this metadata, at most ``max_bytes``."""
        fields = {f"x-amz-meta-{name}": value for name, value in metadata.as_s3().items()}
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, max_bytes])
        post: dict[str, Any] = self._client.generate_presigned_post(
            Bucket=self.bucket,
            Key=source_key(reference_id),
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expires_in,
        )
        return post
