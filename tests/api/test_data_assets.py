"""Datastores, data assets and models through the SDK against the in-process app."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import Server
from wharf import Client, Data, Model
from wharf.sdk import ConflictError, InvalidRequestError, NotFoundError, PermissionDeniedError
from wharf.services import assets, workspaces
from wharf.services.assets import NewVersion


@pytest.fixture
def heart_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "heart"
    folder.mkdir()
    for index in range(3):
        (folder / f"heart-{index:03}.csv").write_text("age,chol\n63,233\n")
    return folder


def test_default_datastore_exists_from_first_start(admin: Client, server: Server) -> None:
    default = admin.datastores.get_default()
    assert default.name == "default"
    assert default.type == "local"
    assert default.settings["root"] == str(
        server.platform.settings.data_dir / "datastores" / "default" / "default"
    )


def test_versions_count_up_and_latest_follows(admin: Client, heart_folder: Path) -> None:
    first = admin.data.create_or_update(
        Data(name="heart", type="uri_folder", path=str(heart_folder))
    )
    second = admin.data.create_or_update(
        Data(name="heart", type="uri_folder", path=str(heart_folder))
    )
    assert (first.version, second.version) == ("1", "2")
    assert first.path.startswith("wharf://datastores/default/paths/LocalUpload/")
    assert first.path != second.path, "each upload gets its own folder"
    assert admin.data.get("heart", label="latest").version == "2"
    assert admin.data.get("heart").version == "2"
    assert admin.data.get("heart", "1").reference == "data:heart:1"
    assert [v.version for v in admin.data.list("heart")] == ["2", "1"]
    uploaded = admin.datastores.list_files("default", first.path.split("/paths/", 1)[1])
    assert sorted(f.path.rsplit("/", 1)[1] for f in uploaded) == [
        "heart-000.csv",
        "heart-001.csv",
        "heart-002.csv",
    ]


def test_explicit_versions_are_immutable_and_move_the_counter(
    admin: Client, heart_folder: Path
) -> None:
    path = admin.datastores.upload(heart_folder)
    admin.data.create_or_update(Data(name="heart", path=path, version="5"))
    with pytest.raises(ConflictError, match="already has version '5'"):
        admin.data.create_or_update(Data(name="heart", path=path, version="5"))
    assert admin.data.create_or_update(Data(name="heart", path=path)).version == "6"
    with pytest.raises(InvalidRequestError, match="'latest' is a label"):
        admin.data.create_or_update(Data(name="heart", path=path, version="latest"))


def test_concurrent_creates_never_share_a_version(server: Server) -> None:
    numbers: list[str] = []
    errors: list[BaseException] = []

    def create_some() -> None:
        try:
            for _ in range(5):
                with server.platform.transaction() as session:
                    ws = workspaces.read_workspace(session, "default")
                    created = assets.create_asset_version(
                        session,
                        ws,
                        "data",
                        "busy",
                        NewVersion("uri_folder", "s3://bucket/x/"),
                        created_by="admin",
                    )
                    numbers.append(created.version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=create_some) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers, key=int) == [str(n) for n in range(1, 31)]


def test_archive_hides_a_version_from_latest(admin: Client, heart_folder: Path) -> None:
    path = admin.datastores.upload(heart_folder)
    admin.data.create_or_update(Data(name="heart", path=path))
    admin.data.create_or_update(Data(name="heart", path=path))
    admin.data.archive("heart", "2")
    assert admin.data.get("heart", label="latest").version == "1"
    assert [(a.name, a.latest_version) for a in admin.data.list_assets()] == [("heart", "1")]
    assert admin.data.get("heart", "2").archived
    admin.data.archive("heart")
    assert [a.name for a in admin.data.list_assets()] == []
    admin.data.restore("heart")
    assert [a.name for a in admin.data.list_assets()] == ["heart"]


@pytest.mark.parametrize(
    ("path", "type", "message"),
    [
        ("/etc/passwd", "uri_file", "local path"),
        ("wharf://datastores/default/paths/../../etc", "uri_folder", "'..'"),
        ("wharf://datastores/default/paths/missing/", "uri_folder", "does not exist"),
        ("wharf://datastores/nowhere/paths/x", "uri_folder", "datastore 'nowhere' does not exist"),
        ("data:heart@latest", "uri_folder", "names an asset"),
        ("https://127.0.0.1/secret.csv", "uri_file", "127.0.0.1"),
        ("ftp://example.org/x", "uri_file", "ftp"),
    ],
)
def test_bad_paths_are_refused_with_the_reason(
    server: Server, path: str, type: str, message: str
) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    response = server.http.post(
        "/api/v1/workspaces/default/data/heart/versions",
        json={"type": type, "path": path},
        headers=headers,
    )
    assert response.status_code in (404, 422), response.text
    assert message in response.json()["detail"]


def test_type_must_match_what_the_path_is(admin: Client, heart_folder: Path) -> None:
    folder = admin.datastores.upload(heart_folder)
    with pytest.raises(InvalidRequestError, match="is a folder; use type uri_folder"):
        admin.data.create_or_update(Data(name="h", type="uri_file", path=folder))
    one_file = admin.datastores.upload(heart_folder / "heart-000.csv")
    created = admin.data.create_or_update(Data(name="h", type="uri_file", path=one_file))
    assert created.type == "uri_file"
    assert created.path.endswith("/heart-000.csv")


def test_azureml_spellings_are_stored_canonically(admin: Client, heart_folder: Path) -> None:
    path = admin.datastores.upload(heart_folder)
    azure = path.replace("wharf://", "azureml://")
    created = admin.data.create_or_update(Data(name="heart", path=azure))
    assert created.path == path


def test_roles_decide_who_may_register_data(server: Server, heart_folder: Path) -> None:
    reader = server.user_with_role("rita", "reader")
    scientist = server.user_with_role("sam", "data-scientist")
    with server.client(scientist) as sam:
        path = sam.datastores.upload(heart_folder)
        assert sam.data.create_or_update(Data(name="heart", path=path)).created_by == "sam"
    with server.client(reader) as rita:
        assert rita.data.get("heart").version == "1"
        with pytest.raises(PermissionDeniedError, match="does not grant data/write"):
            rita.data.create_or_update(Data(name="heart", path=path))
        with pytest.raises(PermissionDeniedError, match="datastores/write"):
            rita.datastores.upload(heart_folder)


def test_pointing_at_a_datastore_needs_datastores_read(
    server: Server, admin: Client, heart_folder: Path
) -> None:
    path = admin.datastores.upload(heart_folder)
    admin.roles.create("data-only", ["data/*"])
    token = server.user_with_role("dora", "data-only")
    with (
        server.client(token) as dora,
        pytest.raises(PermissionDeniedError, match="does not grant datastores/read"),
    ):
        dora.data.create_or_update(Data(name="heart", path=path))


def test_models_have_versions_and_a_flavor(admin: Client, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"\x80\x04N.")
    (folder / "MLmodel").write_text(
        "flavors:\n  python_function: {loader_module: mlflow.sklearn}\n  sklearn: {}\n"
    )
    created = admin.models.create_or_update(Model(name="heart-clf", path=str(folder)))
    assert (created.version, created.flavor) == ("1", "custom")
    mlflow = admin.models.create_or_update(
        Model(name="heart-clf", path=created.path, flavor="mlflow")
    )
    assert admin.models.get("heart-clf", label="latest").version == mlflow.version == "2"
    assert mlflow.properties["mlflow"]["flavors"] == ["python_function", "sklearn"]
    with pytest.raises(InvalidRequestError, match="flavor"):
        admin.models.create_or_update(Model(name="heart-clf", path=created.path, flavor="onnx"))
    with pytest.raises(NotFoundError, match="model 'other' does not exist"):
        admin.models.get("other")


def test_local_datastore_roots_are_limited(admin: Client, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="is outside the workspace's own folder"):
        admin.datastores.create("mine", "local", root=str(tmp_path / "elsewhere"))


def test_datastore_secrets_never_come_back(server: Server, admin: Client) -> None:
    secret = "c2VjcmV0LWFjY291bnQta2V5LXZhbHVlLTEyMzQ1Njc4OTA="
    created = admin.datastores.create(
        "blobs",
        "azure_blob",
        account_name="acct",
        container_name="data",
        credentials={"account_key": secret},
    )
    assert created.has_credentials
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    for url in (
        "/api/v1/workspaces/default/datastores",
        "/api/v1/workspaces/default/datastores/blobs",
    ):
        assert secret not in server.http.get(url, headers=headers).text
    with server.platform.engine.connect() as connection:
        from sqlalchemy import text

        stored = connection.execute(text("SELECT credentials_ciphertext FROM datastores")).all()
    assert all(secret not in str(row) for row in stored)


def test_a_datastore_in_use_cannot_be_deleted(
    admin: Client, tmp_path: Path, server: Server
) -> None:
    root = server.platform.settings.data_dir / "datastores" / "default" / "default" / "extra"
    (root / "x").mkdir(parents=True)
    admin.datastores.create("extra", "local", root=str(root))
    admin.data.create_or_update(Data(name="x", path="wharf://datastores/extra/paths/x/"))
    with pytest.raises(ConflictError, match="still used by x"):
        admin.datastores.delete("extra")
    with pytest.raises(ConflictError, match="default"):
        admin.datastores.delete("default")
