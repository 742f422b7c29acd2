"""A site's own views over serve_node: its own permission check, download names."""

from django.core.exceptions import PermissionDenied

from genro_storage_django import storage_manager
from genro_storage_django.views import serve_node


def download(request, path):
    """Any file of mount 'a' to a request carrying ?key=open, as an attachment."""
    if request.GET.get("key") != "open":
        raise PermissionDenied("wrong key")
    node = storage_manager().node(f"a:{path}")
    name = request.GET.get("name")
    return serve_node(request, node, as_attachment=True, download_name=name or None)


def inline(request, mount, path):
    """Any file of any mount, inline, through the mount's offload if it has one."""
    return serve_node(request, storage_manager().node(f"{mount}:{path}"))


def authorize_shared(request, node):
    """AUTHORIZE of the test site: files under shared/ to anyone, nothing else."""
    return node.path.startswith("shared/")
