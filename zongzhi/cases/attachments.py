"""Upload checks for case attachments: allowed types by content (magic bytes), size, name."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from zongzhi.core.errors import FieldError

# extension → (content type, magic prefixes)
ALLOWED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".mp4": ("video/mp4", ()),
    ".mp3": ("audio/mpeg", (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
}
MAX_FILES = 9


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content: bytes
    content_type: str = ""

    @property
    def extension(self) -> str:
        dot = self.name.rfind(".")
        return self.name[dot:].lower() if dot >= 0 else ""


def max_bytes() -> int:
    return int(getattr(settings, "ZZ_ATTACHMENT_MAX_MB", 20)) * 1024 * 1024


def validate_upload(upload: UploadedFile, field: str = "attachments") -> None:
    """Refuse a file whose extension is not allowed, whose content does not match its extension,
    that is empty or larger than the limit."""
    ext = upload.extension
    if ext not in ALLOWED:
        raise FieldError(
            field,
            _("不支持的文件类型“%(name)s”，仅支持图片、PDF、Word、Excel、MP4、MP3。") % {"name": upload.name},
            code="bad_type",
        )
    size = len(upload.content)
    if size == 0:
        raise FieldError(field, _("文件“%(name)s”为空。") % {"name": upload.name}, code="empty")
    if size > max_bytes():
        raise FieldError(
            field,
            _("文件“%(name)s”超过 %(mb)d MB。") % {"name": upload.name, "mb": max_bytes() // (1024 * 1024)},
            code="too_large",
        )
    content_type, magics = ALLOWED[ext]
    head = upload.content[:16]
    if ext == ".mp4":
        ok = upload.content[4:8] == b"ftyp"
    elif ext == ".webp":
        ok = head.startswith(b"RIFF") and upload.content[8:12] == b"WEBP"
    else:
        ok = any(head.startswith(m) for m in magics)
    if not ok:
        raise FieldError(
            field, _("文件“%(name)s”的内容与扩展名不符。") % {"name": upload.name}, code="content_mismatch"
        )
    object.__setattr__(upload, "content_type", content_type)


def validate_uploads(uploads: list[UploadedFile], field: str = "attachments") -> None:
    if len(uploads) > MAX_FILES:
        raise FieldError(field, _("最多上传 %(n)d 个文件。") % {"n": MAX_FILES}, code="too_many")
    for upload in uploads:
        validate_upload(upload, field)
