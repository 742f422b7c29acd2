"""The site's pages: gallery, documents, the sample video and PDF, uploads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render

from genro_storage_django import storage_manager
from genro_storage_django.views import serve_node

from .forms import DocumentForm, PhotoForm
from .models import Document, Photo

#: The folder of the S3 mount that run.py seeds with a video, a PDF and pictures.
SAMPLES = "s3:samples"


def gallery(request: HttpRequest) -> HttpResponse:
    return render(request, "gallery/gallery.html", {"photos": Photo.objects.all()})


def documents(request: HttpRequest) -> HttpResponse:
    return render(request, "gallery/documents.html", {"documents": Document.objects.all()})


@login_required
def download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A document as an attachment, once the site has checked who asks (here: any user)."""
    document = get_object_or_404(Document, pk=pk)
    node = document.file.node
    return serve_node(request, node, as_attachment=True, download_name=node.basename)


def media(request: HttpRequest) -> HttpResponse:
    """The sample video and PDF of the S3 mount, played and shown through the serve view."""
    entries = [node for node, info in storage_manager().node(SAMPLES).entries() if info.get("type") == "file"]
    videos = [node for node in entries if node.mimetype.startswith("video/")]
    pdfs = [node for node in entries if node.mimetype == "application/pdf"]
    return render(request, "gallery/media.html", {"videos": videos, "pdfs": pdfs})


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    photo_form = PhotoForm(prefix="photo")
    document_form = DocumentForm(prefix="document")
    if request.method == "POST":
        if request.POST.get("kind") == "photo":
            photo_form = PhotoForm(request.POST, request.FILES, prefix="photo")
            if photo_form.is_valid():
                photo = photo_form.save()
                messages.success(request, f"{photo.title}: saved as {photo.image.name}")
                return redirect("gallery")
        else:
            document_form = DocumentForm(request.POST, request.FILES, prefix="document")
            if document_form.is_valid():
                document = document_form.save()
                messages.success(request, f"{document.title}: saved as {document.file.name}")
                return redirect("documents")
    return render(request, "gallery/upload.html", {"photo_form": photo_form, "document_form": document_form})
