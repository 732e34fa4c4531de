"""The blob store on S3-compatible storage (MinIO in docker-compose), through ``boto3``.

Kept thin on purpose: it is tested only against ``moto``'s fake S3 (no MinIO runs where the
tests run). Bytes are spooled to a local temporary file while they are hashed (the name is
the digest, known only at the end), then sent with boto3's managed transfer (multipart for
large files, read from disk, never held in memory) under the same key as the folder store's
path, ``ab/cd/<sha256>``. Reads stream the object's body and check its digest as they go.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from gateway.files.store import CHUNK, Blob, SpoolWriter, blob_key, verified


class S3Writer(SpoolWriter):
    def __init__(self, store: S3Store, max_bytes: int | None):
        super().__init__(store.spool_dir, max_bytes)
        self._store = store

    def commit(self) -> Blob:
        blob = self.finish()
        try:
            if not self._store.exists(blob.sha256):
                self._store.client.upload_file(str(self.path), self._store.bucket,
                                               self._store.key(blob.sha256))
        finally:
            self.path.unlink(missing_ok=True)
        return blob


class S3Store:
    """Blobs as objects ``<prefix>ab/cd/<sha256>`` in one bucket."""

    def __init__(self, client, bucket: str, spool_dir: str | Path, prefix: str = "blobs/"):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.spool_dir = Path(spool_dir)

    @classmethod
    def connect(cls, *, endpoint_url: str | None, bucket: str, access_key: str | None,
                secret_key: str | None, region: str, spool_dir: Path) -> S3Store:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                              aws_access_key_id=access_key, aws_secret_access_key=secret_key)
        store = cls(client, bucket, spool_dir)
        store.ensure_bucket()
        return store

    def ensure_bucket(self) -> None:
        """Create the bucket on first start (a fresh MinIO has none)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def key(self, sha256: str) -> str:
        return self.prefix + blob_key(sha256)

    def writer(self, max_bytes: int | None = None) -> S3Writer:
        return S3Writer(self, max_bytes)

    def _head(self, sha256: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int | None:
        head = self._head(sha256)
        return None if head is None else int(head["ContentLength"])

    def read(self, sha256: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except ClientError as exc:
            raise FileNotFoundError(sha256) from exc
        return verified(body.iter_chunks(chunk_size), sha256)

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
