"""Google Drive (API v3): list files, read a file's metadata, download a file into the run, upload one.

The same Google connection as Sheets (an OAuth2 connection through the `google` provider, here with the
drive scope; OAUTH_CLIENTS["google_drive"] holds the client). Downloads stream into the run's file store
(Google Docs, Sheets and Slides are exported to `export_mime_type`); uploads stream from it through
Drive's resumable upload (the metadata first, then the bytes to the session URL Drive answers), so
neither is held in memory whole. Errors are Google's `{"error": {"code", "message", "status"}}`: see
integrations.google_sheets. https://developers.google.com/drive/api/reference/rest/v3
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.files import FileRef, safe_name
from core.models import AuthType
from integrations import http_files
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration, OAuth2Credentials, RateLimit, provider_oauth2

drive = Integration(
    id="google_drive",
    name="Google Drive",
    description="List, download and upload files in Google Drive",
    icon="/static/icons/google_drive.svg",
    category="productivity",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://developers.google.com/drive/api/reference/rest/v3",
    website_url="https://drive.google.com",
    oauth2=provider_oauth2("google", ("https://www.googleapis.com/auth/drive",)),
    base_url="https://www.googleapis.com",
    # Drive allows 12,000 queries a minute per user; this keeps one connection well inside it.
    rate_limit=RateLimit(600, 60),
    example="""The PDFs of a folder, the first one downloaded into the run, then a file the run made uploaded:

```json
{"id": "pdfs", "type": "action", "action": "google_drive.list_files",
 "input": {"query": "'1AbCdEfGhIjKlMnOpQrStUvWxYz' in parents and mimeType = 'application/pdf'",
           "order_by": "modifiedTime desc"}}
```

```json
{"id": "contract", "type": "action", "action": "google_drive.download_file",
 "input": {"file_id": "{{ steps.pdfs.output.files[0].id }}"}}
```

```json
{"id": "archive", "type": "action", "action": "google_drive.upload_file",
 "input": {"file": "{{ steps.contract.output.file }}", "folder_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz",
           "name": "signed.pdf"}}
```
""",
)
drive.credentials_model = OAuth2Credentials

FILES = "drive/v3/files"
FIELDS = "id,name,mimeType,size,modifiedTime,parents,webViewLink,md5Checksum"
FILE_ID = Field(pattern=r"^[A-Za-z0-9_-]{10,200}$", description="The file's id (from its link)")
GOOGLE_APPS = "application/vnd.google-apps."


class DriveFile(BaseModel):
    id: str
    name: str
    mimeType: str  # noqa: N815
    size: int | None = Field(default=None, description="Bytes (none for Google Docs, Sheets, Slides)")
    modifiedTime: str | None = None  # noqa: N815
    parents: list[str] = Field(default_factory=list)
    webViewLink: str | None = None  # noqa: N815
    md5Checksum: str | None = None  # noqa: N815


async def call(ctx: ActionContext, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**ctx.bearer(), **kwargs.pop("headers", {})}
    return (await ctx.request(method, path, headers=headers, **kwargs)).json()


ALL_DRIVES = {"supportsAllDrives": "true"}


class ListFilesInput(BaseModel):
    query: str | None = Field(
        default=None, description="A Drive search query: \"'FOLDER_ID' in parents and trashed = false\""
    )
    order_by: str | None = Field(default=None, description="e.g. modifiedTime desc, name")
    page_size: int = Field(default=100, ge=1, le=1000)
    page_token: str | None = Field(
        default=None, description="Continue from a previous listing's next_page_token"
    )
    max_pages: int = Field(
        default=1, ge=1, le=100, description="Follow nextPageToken for up to this many requests"
    )


class ListFilesOutput(BaseModel):
    files: list[DriveFile]
    next_page_token: str | None = None


@drive.action(
    "list_files",
    name="List Files",
    description="Files matching a search query, following pages",
    side_effects=False,
)
async def list_files(data: ListFilesInput, ctx: ActionContext) -> ListFilesOutput:
    params: dict[str, Any] = {
        **ALL_DRIVES,
        "includeItemsFromAllDrives": "true",
        "pageSize": data.page_size,
        "fields": f"nextPageToken,files({FIELDS})",
    }
    if data.query:
        params["q"] = data.query
    if data.order_by:
        params["orderBy"] = data.order_by

    async def fetch(token: str | None) -> tuple[list[Any], str | None]:
        answer = await call(ctx, "GET", FILES, params={**params, **({"pageToken": token} if token else {})})
        return [DriveFile.model_validate(f) for f in answer.get("files") or []], answer.get("nextPageToken")

    files, token = await ctx.pages(fetch, data.page_token, data.max_pages, "files")
    return ListFilesOutput(files=files, next_page_token=token)


class FileInput(BaseModel):
    file_id: str = FILE_ID


async def _metadata(ctx: ActionContext, file_id: str) -> DriveFile:
    return DriveFile.model_validate(
        await call(ctx, "GET", f"{FILES}/{file_id}", params={**ALL_DRIVES, "fields": FIELDS})
    )


@drive.action(
    "get_file",
    name="Get File",
    description="A file's metadata (name, type, size, folders, link)",
    side_effects=False,
)
async def get_file(data: FileInput, ctx: ActionContext) -> DriveFile:
    return await _metadata(ctx, data.file_id)


class DownloadInput(FileInput):
    export_mime_type: str = Field(
        default="application/pdf",
        description="What a Google Doc, Sheet or Slides file is exported as (others download as they are)",
    )


class DownloadOutput(BaseModel):
    file: FileRef = Field(description="The downloaded file, kept with the run")
    metadata: DriveFile


@drive.action(
    "download_file",
    name="Download File",
    description="Download a file (exporting Google Docs) into the run as a file later steps can use",
    side_effects=False,
)
async def download_file(data: DownloadInput, ctx: ActionContext) -> DownloadOutput:
    meta = await _metadata(ctx, data.file_id)
    if meta.mimeType.startswith(GOOGLE_APPS):
        path, params, content_type = (
            f"{FILES}/{data.file_id}/export",
            {"mimeType": data.export_mime_type},
            data.export_mime_type,
        )
    else:
        path, params, content_type = f"{FILES}/{data.file_id}", {**ALL_DRIVES, "alt": "media"}, meta.mimeType
    async with ctx.stream("GET", path, params=params, headers=ctx.bearer()) as response:
        kept = await ctx.store_file(
            response.aiter_bytes(),
            name=safe_name(meta.name, data.file_id),
            content_type=content_type,
            max_bytes=http_files.file_limit(ctx),
        )
    return DownloadOutput(file=kept, metadata=meta)


class UploadInput(BaseModel):
    file: FileRef = Field(description="The file to upload (a FileRef: trigger.files[0], a download's file)")
    name: str | None = Field(default=None, description="Its name in Drive (default: the file's)")
    folder_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{10,200}$", description="Put it in this folder"
    )
    description: str | None = None


@drive.action(
    "upload_file", name="Upload File", description="Upload a run's file to Drive (resumable, streamed)"
)
async def upload_file(data: UploadInput, ctx: ActionContext) -> DriveFile:
    body = await http_files.raw_file_body(ctx, data.file, "input.file")
    metadata: dict[str, Any] = {"name": data.name or data.file.name}
    if data.folder_id:
        metadata["parents"] = [data.folder_id]
    if data.description:
        metadata["description"] = data.description
    started = await ctx.request(
        "POST",
        "upload/drive/v3/files",
        params={**ALL_DRIVES, "uploadType": "resumable", "fields": FIELDS},
        headers={
            **ctx.bearer(),
            "X-Upload-Content-Type": body.content_type,
            "X-Upload-Content-Length": str(body.length),
        },
        json=metadata,
    )
    session = started.headers.get("location")
    if not session:
        raise ActionError("Google Drive started no upload session (no Location)", type="Drive.NoSession")
    answer = await ctx.request("PUT", session, content=body.chunks, headers=body.headers(ctx.bearer()))
    return DriveFile.model_validate(answer.json())
