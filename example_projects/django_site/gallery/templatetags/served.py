"""``{{ photo.image|served }}``: the signed serve-view URL of a file (see gallery.links)."""

from django import template

from ..links import served_url

register = template.Library()
register.filter("served", served_url)
