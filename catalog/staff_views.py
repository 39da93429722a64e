"""Staff-only catalog pages: upload a zip of MIDI files (or one file) and see a per-file report."""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from catalog import services
from catalog.forms import MidiUploadForm


class _SizeLimitHandler(FileUploadHandler):
    """Stop reading an upload as soon as it passes ``MAX_UPLOAD_BYTES`` (nothing is kept)."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            setattr(self.request, "upload_too_large", True)  # noqa: B010  (read by the view)
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@csrf_exempt  # the upload handler must be installed before the CSRF check reads the body
@staff_member_required
def staff_upload(request: HttpRequest) -> HttpResponse:
    # A list until the body is read (an immutable one after).
    request.upload_handlers.insert(0, _SizeLimitHandler(request))  # type: ignore[union-attr]
    return _staff_upload(request)


@csrf_protect
def _staff_upload(request: HttpRequest) -> HttpResponse:
    """Import the uploaded MIDI into the catalog and show what happened to each file."""
    report = None
    status = 200
    if request.method == "POST":
        form = MidiUploadForm(request.POST, request.FILES)
        if getattr(request, "upload_too_large", False):
            form.add_error(
                None,
                f"The upload is larger than the {settings.MAX_UPLOAD_BYTES / 2**20:g} MiB "
                "limit; nothing was imported.",
            )
            status = 413
        elif form.is_valid():
            data = form.cleaned_data
            report = services.catalog_import(
                sources=[data["file"]],
                collection_name=data["collection"] or None,
                artist_name=data["artist"] or None,
                tag_names=data["tags"],
                status=data["status"],
            )
            form = MidiUploadForm(
                initial={k: request.POST.get(k) for k in ("collection", "artist", "status")}
            )
        else:
            status = 400
    else:
        form = MidiUploadForm()
    context = {"form": form, "report": report, "max_upload_mib": settings.MAX_UPLOAD_BYTES / 2**20}
    return render(request, "catalog/staff/upload.html", context, status=status)
