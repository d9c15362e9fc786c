"""Cloud datastores through Wharf's API against real servers: Azurite (Azure Blob) and moto (S3)."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path

import pytest

from tests.conftest import Server
from tests.storage_servers import AzuriteServer, S3Server
from wharf import Client, Data
from wharf.sdk import APIError

pytestmark = pytest.mark.e2e


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "heart"
    folder.mkdir()
    for index in range(3):
        (folder / f"heart-{index:03}.csv").write_text(f"age,chol\n{60 + index},233\n")
    return folder


def test_azure_blob_datastore_writes_lists_reads_and_holds_data(
    admin: Client, server: Server, azurite: AzuriteServer, azure_container: str, tmp_path: Path
) -> None:
    created = admin.datastores.create(
        "blobs",
        "azure_blob",
        account_name=azurite.account_name,
        container_name=azure_container,
        account_url=azurite.account_url,
        credentials={"account_key": azurite.account_key},
    )
    assert created.has_credentials
    reference = admin.datastores.upload(_folder(tmp_path), datastore="blobs", target_path="clinics")
    assert reference == "wharf://datastores/blobs/paths/clinics/"
    listed = [f.path for f in admin.datastores.list_files("blobs", "clinics")]
    assert listed == [f"clinics/heart-{i:03}.csv" for i in range(3)]
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    content = server.http.get(
        "/api/v1/workspaces/default/datastores/blobs/files/clinics/heart-001.csv", headers=headers
    )
    assert content.status_code == 200
    assert content.text == "age,chol\n61,233\n"
    data = admin.data.create_or_update(Data(name="heart", path=reference))
    assert admin.data.get("heart", label="latest").path == data.path == reference
    assert azurite.account_key not in admin.datastores.get("blobs").model_dump_json()


def test_s3_datastore_writes_and_holds_data(
    admin: Client, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    admin.datastores.create(
        "lake",
        "s3",
        bucket=s3_bucket,
        prefix="wharf",
        endpoint_url=s3_server.endpoint_url,
        region=s3_server.region,
        credentials={
            "access_key_id": s3_server.access_key_id,
            "secret_access_key": s3_server.secret_access_key,
        },
    )
    reference = admin.datastores.upload(_folder(tmp_path), datastore="lake", target_path="in")
    assert [f.path for f in admin.datastores.list_files("lake", "in")] == [
        f"in/heart-{i:03}.csv" for i in range(3)
    ]
    assert admin.data.create_or_update(Data(name="lake-heart", path=reference)).version == "1"


def test_a_wrong_key_is_never_repeated_anywhere(
    admin: Client,
    azurite: AzuriteServer,
    azure_container: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong_key = base64.b64encode(secrets.token_bytes(64)).decode()
    caplog.set_level(logging.DEBUG)
    admin.datastores.create(
        "broken",
        "azure_blob",
        account_name=azurite.account_name,
        container_name=azure_container,
        account_url=azurite.account_url,
        credentials={"account_key": wrong_key},
    )
    with pytest.raises(APIError) as caught:
        admin.datastores.upload(_folder(tmp_path), datastore="broken")
    with pytest.raises(APIError) as listed:
        admin.datastores.list_files("broken")
    texts = [
        str(caught.value),
        str(caught.value.problem),
        str(listed.value),
        str(listed.value.problem),
        caplog.text,
        admin.datastores.get("broken").model_dump_json(),
    ]
    assert caught.value.status in (401, 403, 404, 422)
    for text in texts:
        assert wrong_key not in text
        assert wrong_key[:24] not in text
