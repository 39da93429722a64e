"""Staff-only catalog pages: upload a zip of MIDI files (or one file) and see a per-file report."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@staff_member_required
def staff_upload(request: HttpRequest) -> HttpResponse:
    """Upload MIDI files into the catalog (placeholder until the ingest service lands)."""
    return render(request, "catalog/staff/upload.html", {"report": None})
