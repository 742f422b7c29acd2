"""``manage.py storage_copy``, ``storage_ls``, ``storage_info`` and ``storage_migrate``."""
