"""Real storage servers for the tests: Azurite (from npm) and moto's S3 server (from PyPI).

Each is a session fixture that starts the server on a free loopback port in its own process
group and stops it at the end of the session. Import them in a conftest:
``from tests.storage_servers import azurite, s3_server``. Per-test fixtures
(``azure_container``, ``s3_bucket``) give each test an empty container or bucket.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.processes import free_port, stop_group
from tests.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"

# Azurite's built-in development account. Both values are public, documented by Microsoft
# and accepted only by the emulator.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
S3_REGION = "us-east-1"


@dataclass(frozen=True)
class AzuriteServer:
    """A running Azurite blob service and its development account."""

    account_url: str
    account_name: str = AZURITE_ACCOUNT
    account_key: str = AZURITE_KEY

    @property
    def allow_pattern(self) -> str:
        """The ``WHARF_ALLOW_PRIVATE_URLS`` entry that lets Wharf reach this loopback server."""
        return allow_pattern(self.account_url)

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.account_url};"
        )


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 server, with IAM authentication on, and a user's key pair."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str = S3_REGION

    @property
    def allow_pattern(self) -> str:
        """The ``WHARF_ALLOW_PRIVATE_URLS`` entry that lets Wharf reach this loopback server."""
        return allow_pattern(self.endpoint_url)


def allow_pattern(url: str) -> str:
    """``host:port`` of a test server's URL: exactly that server, nothing else on loopback."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


STORAGE_SERVER_FIXTURES = ("azurite", "s3_server")
"""Fixtures whose servers listen on loopback: a test that uses one gets it allowed."""


def wait_until_answering(url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    """Poll ``url`` until the server sends any HTTP response; fail early if it exits."""

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before answering")
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError:
            return False
        return True

    wait_until(answers, timeout, f"{url} to answer")


def install_azurite() -> Path:
    """``node_modules/.bin/azurite-blob``, running ``npm ci`` first if it is missing."""
    if AZURITE_BIN.exists():
        return AZURITE_BIN
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Node.js and npm are not installed: the Azurite (azure_blob) tests need them")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )
    return AZURITE_BIN


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob service on a free loopback port, for the whole session."""
    binary = install_azurite()
    port = free_port()
    workspace = tmp_path_factory.mktemp("azurite")
    log = workspace / "azurite.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                "--silent",
                "--location",
                str(workspace),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--skipApiVersionCheck",
                "--loose",
                # Azurite reports usage to Microsoft unless told not to; tests stay offline.
                "--disableTelemetry",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    account_url = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    try:
        wait_until_answering(f"{account_url}?comp=list", 60, process)
        yield AzuriteServer(account_url=account_url)
    finally:
        stop_group(process)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port, with an IAM user and authentication on."""
    try:
        import botocore.session
        import moto.server  # noqa: F401 - only to check that moto[server] is installed
    except ImportError:
        pytest.skip("moto[server] is not installed: the s3 datastore tests need it")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{endpoint}/moto-api/", 60, process)
        iam = botocore.session.get_session().create_client(
            "iam",
            endpoint_url=endpoint,
            region_name=S3_REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="wharf-tests")
        iam.put_user_policy(
            UserName="wharf-tests",
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="wharf-tests")["AccessKey"]
        iam.close()
        # From here on moto checks every request's signature, as AWS does, so a wrong
        # secret fails the way it fails in production.
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
        yield S3Server(
            endpoint_url=endpoint,
            access_key_id=key["AccessKeyId"],
            secret_access_key=key["SecretAccessKey"],
        )
    finally:
        stop_group(process)


@pytest.fixture
def azure_container(azurite: AzuriteServer) -> Iterator[str]:
    """A new, empty container in Azurite, deleted after the test."""
    from azure.storage.blob import BlobServiceClient

    name = "wharf-" + secrets.token_hex(6)
    with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        service.create_container(name)
        try:
            yield name
        finally:
            service.delete_container(name)


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """A new, empty bucket in the moto server, emptied and deleted after the test."""
    import botocore.session

    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
    )
    name = "wharf-" + secrets.token_hex(6)
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        listed = client.list_objects_v2(Bucket=name).get("Contents", [])
        for item in listed:
            client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)
        client.close()
