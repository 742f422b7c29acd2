"""Configuration: every malformed config names the mount and the key."""

from __future__ import annotations

import json
import os

import pytest

from genro_storage import MountNotFoundError, StorageBackend, StorageConfigError, StorageManager


def config_error(configs, *, mount, key):
    with pytest.raises(StorageConfigError) as info:
        StorageManager().configure(configs)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.mount == mount and err.key == key
    if mount is not None:
        assert repr(mount) in str(err)
    assert repr(key) in str(err)
    return err


def test_missing_name():
    config_error([{"type": "memory"}], mount=None, key="name")


def test_invalid_name():
    config_error([{"name": "bad:name", "type": "memory"}], mount="bad:name", key="name")
    config_error([{"name": 42, "type": "memory"}], mount=None, key="name")


def test_unknown_type():
    err = config_error([{"name": "x", "type": "dropbox-ish"}], mount="x", key="type")
    assert "local" in str(err)


def test_missing_type():
    config_error([{"name": "x"}], mount="x", key="type")


def test_duplicate_mount():
    config_error([{"name": "x", "type": "memory"}, {"name": "x", "type": "memory"}], mount="x", key="name")
    storage = StorageManager()
    storage.add_mount(name="x", type="memory")
    with pytest.raises(StorageConfigError) as info:
        storage.configure([{"name": "x", "type": "memory"}])
    assert info.value.mount == "x" and info.value.key == "name"


def test_bad_permissions_value():
    config_error([{"name": "x", "type": "memory", "permissions": "write"}], mount="x", key="permissions")


def test_missing_bucket(s3_server):
    conf = s3_server.mount("x", "contract")
    del conf["bucket"]
    config_error([conf], mount="x", key="bucket")


def test_wrong_field_types(tmp_path):
    config_error([{"name": "x", "type": "local", "path": 12}], mount="x", key="path")
    config_error([{"name": "x", "type": ["local"]}], mount="x", key="type")
    config_error([{"name": "x", "type": "s3", "bucket": ["b"]}], mount="x", key="bucket")
    config_error([{"name": "x", "type": "memory", "permissions": ["readonly"]}], mount="x", key="permissions")


def test_unknown_key_is_an_error_not_dropped(tmp_path):
    config_error([{"name": "x", "type": "local", "path": str(tmp_path), "pth": "typo"}], mount="x", key="pth")
    config_error([{"name": "x", "type": "memory", "bucket": "b"}], mount="x", key="bucket")
    config_error([{"name": "x", "type": "base64", "path": "p"}], mount="x", key="path")


def test_local_needs_path():
    config_error([{"name": "x", "type": "local"}], mount="x", key="path")


def test_both_alias_spellings():
    config_error([{"name": "x", "type": "local", "path": "/a", "base_path": "/b"}], mount="x", key="path")
    config_error([{"name": "x", "type": "local", "protocol": "local", "path": "/a"}], mount="x", key="type")


def test_config_is_all_or_nothing(tmp_path):
    storage = StorageManager()
    with pytest.raises(StorageConfigError):
        storage.configure([{"name": "good", "type": "memory"}, {"name": "bad", "type": "nope"}])
    assert not storage.has_mount("good")
    assert list(storage.mounts) == []


def test_aliases(tmp_path):
    storage = StorageManager()
    storage.configure([{"name": "a", "protocol": "local", "base_path": str(tmp_path)}])
    storage.node("a:x.txt").write("x")
    assert (tmp_path / "x.txt").read_text() == "x"
    assert storage.mounts["a"].type == "local"


def test_fsspec_extra_keys_reach_the_filesystem(s3_server):
    storage = StorageManager([s3_server.mount("s", "contract", prefix="extra", default_block_size=6 * 2**20)])
    fs = storage.get_backend("s").fs
    assert fs.endpoint_url == s3_server.endpoint_url
    assert fs.default_block_size == 6 * 2**20


def test_generic_fsspec_protocol(tmp_path):
    storage = StorageManager([{"name": "f", "type": "file", "path": str(tmp_path), "auto_mkdir": True}])
    storage.node("f:a/b.txt").write("via fsspec")
    assert (tmp_path / "a" / "b.txt").read_text() == "via fsspec"
    assert storage.get_backend("f").fs.auto_mkdir is True


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
def test_config_files_with_env_expansion(tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("GS_TEST_ROOT", str(tmp_path / "files"))
    root = "${GS_TEST_ROOT}"
    if fmt == "yaml":
        text = f"mounts:\n  - name: files\n    type: local\n    path: '{root}'\n  - name: mem\n    type: memory\n"
    elif fmt == "json":
        text = json.dumps([{"name": "files", "type": "local", "path": root}, {"name": "mem", "type": "memory"}])
    else:
        text = f'[[mounts]]\nname = "files"\ntype = "local"\npath = "{root}"\n\n'
        text += '[[mounts]]\nname = "mem"\ntype = "memory"\n'
    conf = tmp_path / f"storage.{fmt}"
    conf.write_text(text)
    storage = StorageManager()
    storage.configure(str(conf))
    assert set(storage.mounts) == {"files", "mem"}
    storage.node("files:x.txt").write("x")
    assert (tmp_path / "files" / "x.txt").read_text() == "x"


def test_config_file_table_of_mounts_and_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("GS_UNSET_VAR", raising=False)
    conf = tmp_path / "storage.toml"
    conf.write_text(f'[mounts.files]\ntype = "local"\npath = "${{GS_UNSET_VAR:-{tmp_path}}}"\n')
    storage = StorageManager(conf)
    assert storage.get_backend("files").root == str(tmp_path)


def test_config_file_missing_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv("GS_UNSET_VAR", raising=False)
    conf = tmp_path / "storage.json"
    conf.write_text(json.dumps([{"name": "files", "type": "local", "path": "${GS_UNSET_VAR}"}]))
    with pytest.raises(StorageConfigError) as info:
        StorageManager(conf)
    assert info.value.mount == "files" and info.value.key == "path"
    assert "GS_UNSET_VAR" in str(info.value)


def test_config_file_errors(tmp_path):
    with pytest.raises(StorageConfigError):
        StorageManager(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StorageConfigError, match="invalid JSON"):
        StorageManager(bad)
    ini = tmp_path / "conf.ini"
    ini.write_text("x")
    with pytest.raises(StorageConfigError, match="format"):
        StorageManager(ini)


def test_a_toml_list_under_another_name_points_to_mounts(tmp_path):
    conf = tmp_path / "storage.toml"
    conf.write_text('[[mount]]\nname = "a"\ntype = "memory"\n')
    with pytest.raises(StorageConfigError, match=r"'mount' holds a list.*\[\[mounts\]\]"):
        StorageManager(conf)


def test_a_path_given_as_bytes_is_refused_by_its_type(tmp_path):
    with pytest.raises(StorageConfigError, match="not bytes"):
        StorageManager(str(tmp_path / "storage.yaml").encode())


def test_callable_path_resolves_per_call(tmp_path):
    tenant = {"name": "alpha"}
    storage = StorageManager([{"name": "t", "type": "local", "path": lambda: tmp_path / tenant["name"]}])
    storage.node("t:doc.txt").write("for alpha")
    tenant["name"] = "beta"
    node = storage.node("t:doc.txt")
    assert not node.exists
    node.write("for beta")
    assert (tmp_path / "alpha" / "doc.txt").read_text() == "for alpha"
    assert (tmp_path / "beta" / "doc.txt").read_text() == "for beta"


def test_callable_prefix_resolves_per_call(s3_server):
    tenant = {"name": "alpha"}
    storage = StorageManager([s3_server.mount("t", "contract", prefix=lambda: f"tenants/{tenant['name']}")])
    storage.node("t:doc.txt").write("for alpha")
    tenant["name"] = "beta"
    assert not storage.node("t:doc.txt").exists
    storage.node("t:doc.txt").write("for beta")
    tenant["name"] = "alpha"
    assert storage.node("t:doc.txt").read() == "for alpha"
    fs = storage.get_backend("t").fs
    assert fs.cat("contract/tenants/beta/doc.txt") == b"for beta"


def test_callable_path_on_memory():
    tenant = {"name": "a"}
    storage = StorageManager([{"name": "t", "type": "memory", "path": lambda: tenant["name"]}])
    storage.node("t:f").write("a")
    tenant["name"] = "b"
    assert not storage.node("t:f").exists


def test_local_root_created_on_first_write(tmp_path):
    root = tmp_path / "not" / "yet"
    storage = StorageManager([{"name": "l", "type": "local", "path": str(root)}])
    assert not root.exists()
    assert storage.node("l:").isdir and storage.node("l:").children() == []
    storage.node("l:file.txt").write("x")
    assert (root / "file.txt").read_text() == "x"


def test_manager_accessors(tmp_path):
    storage = StorageManager([{"name": "a", "type": "memory"}])
    assert storage.has_mount("a") and not storage.has_mount("b")
    assert list(storage.mounts) == ["a"]
    with pytest.raises(TypeError):
        storage.mounts["b"] = None  # read-only view
    assert storage.get_backend("a").fs is not None
    storage.remove_mount("a")
    assert not storage.has_mount("a")
    with pytest.raises(MountNotFoundError):
        storage.remove_mount("a")
    with pytest.raises(MountNotFoundError) as info:
        storage.get_backend("a")
    assert isinstance(info.value, KeyError) and "'a'" in str(info.value)


def test_register_backend_type():
    class DictBackend(StorageBackend):
        """A custom backend holding files in a dict, given only read/write primitives."""

        def __init__(self, mount, *, label=None, **options):
            super().__init__(mount, **options)
            self.label = label
            self.files: dict[str, bytes] = {}

        def info(self, path):
            if path in self.files:
                return {"type": "file", "size": len(self.files[path]), "mtime": None}
            if not path or any(p.startswith(path + "/") for p in self.files):
                return {"type": "directory", "size": 0, "mtime": None}
            raise FileNotFoundError(path)

        def read_bytes(self, path):
            if path not in self.files:
                raise FileNotFoundError(path)
            return self.files[path]

        def write_bytes(self, path, data):
            self.files[path] = bytes(data)

        def listdir(self, path):
            prefix = f"{path}/" if path else ""
            return sorted({p[len(prefix) :].split("/")[0] for p in self.files if p.startswith(prefix)})

        def mkdir(self, path):
            pass

        def delete(self, path):
            del self.files[path]

    storage = StorageManager()
    storage.register_backend_type("dict", DictBackend)
    with pytest.raises(ValueError):
        storage.register_backend_type("dict", DictBackend)
    with pytest.raises(ValueError):
        storage.register_backend_type("local", DictBackend)
    with pytest.raises(TypeError):
        storage.register_backend_type("other", object)  # type: ignore[arg-type]
    storage.configure([{"name": "d", "type": "dict", "label": "mine"}])
    node = storage.node("d:folder/a.txt")
    node.write("custom")
    assert node.read() == "custom"
    with node.open("rb") as f:
        assert f.read() == b"custom"
    with node.open("w") as f:
        f.write("streamed")
    assert node.read() == "streamed"
    assert [c.path for c in storage.node("d:").children()] == ["folder"]
    assert storage.get_backend("d").label == "mine"
    config_error_for_custom = pytest.raises(StorageConfigError)
    with config_error_for_custom as info:
        storage.add_mount(name="e", type="dict", lable="typo")
    assert info.value.key == "lable"
    # registrations are per manager
    with pytest.raises(StorageConfigError):
        StorageManager([{"name": "d", "type": "dict"}])


def test_env_var_in_dict_config_is_literal(tmp_path, monkeypatch):
    monkeypatch.setenv("GS_TEST_ROOT", "/should/not/expand")
    path = str(tmp_path / "${GS_TEST_ROOT}")
    storage = StorageManager([{"name": "l", "type": "local", "path": path}])
    assert storage.get_backend("l").root == os.path.abspath(path)


def test_s3_refuses_path_key(s3_server):
    config_error([s3_server.mount("x", "contract", path="tenant1")], mount="x", key="path")


def test_local_path_must_not_be_empty():
    config_error([{"name": "x", "type": "local", "path": ""}], mount="x", key="path")


def test_callable_roots_cannot_climb(tmp_path, s3_server):
    tenant = {"name": "../other"}
    local = StorageManager([{"name": "t", "type": "local", "path": lambda: f"{tmp_path}/{tenant['name']}"}])
    with pytest.raises(StorageConfigError) as info:
        local.node("t:f").write("x")
    assert info.value.mount == "t" and info.value.key == "path"
    s3 = StorageManager([s3_server.mount("t", "contract", prefix=lambda: f"tenants/{tenant['name']}")])
    with pytest.raises(ValueError):
        s3.node("t:f").write("x")
    tenant["name"] = ""
    with pytest.raises(StorageConfigError):
        StorageManager([{"name": "t", "type": "local", "path": lambda: tenant["name"]}]).node("t:f").write("x")


def test_node_and_configure_type_errors():
    storage = StorageManager([{"name": "m", "type": "memory"}])
    with pytest.raises(TypeError):
        storage.node(5)  # type: ignore[arg-type]
    with pytest.raises(StorageConfigError):
        StorageManager(5)  # type: ignore[arg-type]
