"""`memos keys create | list | revoke` against the stack's database."""

import re

from services.cli import main
from tests.stack import Stack


def test_create_list_revoke(stack: Stack, capsys, monkeypatch) -> None:
    stack.export_env(monkeypatch)
    assert main(["keys", "create", "--project", "cli-demo", "--name", "ci"]) == 0
    created = capsys.readouterr().out
    key = re.search(r"api key : (mpg-\S+)", created).group(1)
    key_id = re.search(r"key id  : (\S+)", created).group(1)
    assert stack.ok("/get/message", {"user_id": "u", "conversation_id": "c"}, key=key) == {
        "message_detail_list": []
    }

    assert main(["keys", "list", "--project", "cli-demo"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "active" in listed and key not in listed  # never shown again

    assert main(["keys", "revoke", key_id[:8]]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "list", "--project", "cli-demo"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", "no-such-key"]) == 1
