"""Folder uploads never follow a symbolic link out of the folder (finding 8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wharf.sdk import Client, InvalidRequestError
from wharf.sdk._batch_specs import code_files

SECRET = "the-contents-of-a-private-key"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / ".ssh" / "id_ed25519").write_text(SECRET)
    data = tmp_path / "to-upload"
    (data / "part").mkdir(parents=True)
    (data / "part" / "a.csv").write_text("x\n1\n")
    return data


def uploaded(admin: Client) -> list[str]:
    return [f.path for f in admin.datastores.list_files("default", "LocalUpload")]


def test_a_link_to_a_file_outside_the_folder_refuses_the_upload(
    admin: Client, folder: Path, tmp_path: Path
) -> None:
    os.symlink(tmp_path / "home" / ".ssh" / "id_ed25519", folder / "notes.txt")
    with pytest.raises(InvalidRequestError, match="uploads never follow a link out") as caught:
        admin.datastores.upload(folder)
    assert str(tmp_path / "home" / ".ssh" / "id_ed25519") in caught.value.detail
    assert uploaded(admin) == []


def test_a_link_to_a_folder_outside_or_a_dangling_link_refuses_the_upload(
    admin: Client, folder: Path, tmp_path: Path
) -> None:
    os.symlink(tmp_path / "home", folder / "part" / "home")
    with pytest.raises(InvalidRequestError, match="outside"):
        admin.datastores.upload(folder)
    os.unlink(folder / "part" / "home")
    os.symlink(tmp_path / "gone", folder / "gone")
    with pytest.raises(InvalidRequestError, match="is missing"):
        admin.datastores.upload(folder)
    assert uploaded(admin) == []


def test_links_inside_the_folder_are_sent_as_their_target(admin: Client, folder: Path) -> None:
    os.symlink(folder / "part" / "a.csv", folder / "latest.csv")
    os.symlink("part", folder / "alias")  # a folder link: its target is sent once, by name
    reference = admin.datastores.upload(folder, target_path="inside")
    assert reference == "wharf://datastores/default/paths/inside/"
    files = sorted(f.path for f in admin.datastores.list_files("default", "inside"))
    assert files == ["inside/latest.csv", "inside/part/a.csv"]


def test_code_folders_skip_hidden_folders_before_looking_at_their_links(
    folder: Path, tmp_path: Path
) -> None:
    (folder / ".venv" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", folder / ".venv" / "bin" / "python")
    assert code_files(folder) == [folder / "part" / "a.csv"]
    os.symlink(tmp_path / "home" / ".ssh" / "id_ed25519", folder / "score.py")
    with pytest.raises(InvalidRequestError, match="outside"):
        code_files(folder)
