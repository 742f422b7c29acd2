# Sourced by scripts/test.sh: installs what the browser tests (tests/browser) need:
# Debian's chromium (Playwright drives it through executable_path: Playwright's own
# browser download is never used), ffmpeg for the sample video, ImageMagick for thumbnails.
. scripts/_debian.sh
debian_install chromium ffmpeg imagemagick
