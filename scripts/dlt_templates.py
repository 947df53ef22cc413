"""Print the SMS texts to register on TRAI's DLT platform, as a GRIDBILL_SMS_TEMPLATES file.

    .venv/bin/python scripts/dlt_templates.py > dlt-templates.json

Register each ``text`` with your operator's DLT portal (as a transactional / service
implicit template under your sender header), then write the template id the portal gives
into ``template_id``. gridbill refuses to send an SMS whose template has no id.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from notifications.rendering import registration_texts


def main() -> None:
    entries = {
        name: {"template_id": "", "text": text} for name, text in registration_texts().items()
    }
    json.dump(entries, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
