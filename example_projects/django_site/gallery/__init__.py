"""The example site's app: photos with thumbnails, documents, the sample video."""
