"""``python -m genro_storage.cli``: the ``genro-storage`` console script."""

from . import main

if __name__ == "__main__":
    main(prog_name="genro-storage")
