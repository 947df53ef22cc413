"""The app's words in English and Hindi, and the markup that shows Devanagari.

A simple catalogue (a dict per language) rather than gettext: the app has a few dozen
strings, they ship inside the package on Android without a compile step, and a missing
Hindi string falls back to English (a test checks that none is missing).

Kivy's default font (Roboto) has no Devanagari and the vendored Noto Sans Devanagari
(``field_app/fonts/``, SIL OFL 1.1) has no Latin letters or digits, and a Kivy label has
one font. :func:`markup` therefore wraps each run of Devanagari in a ``[font=…]`` tag so
one label can show "मीटर M00007". Kivy's SDL2 text provider draws the glyphs in logical
order without shaping. :func:`visual_order` moves each short-i vowel sign (ि) before the
consonant cluster it belongs to, so "सिंक" reads right; conjuncts (क्ष, त्र, the reph in
"सर्वर") are still drawn as their parts with a visible virama (docs/field-app.md, "Hindi").
"""

from __future__ import annotations

from pathlib import Path

FONTS = Path(__file__).resolve().parent / "fonts"
DEVANAGARI = "NotoSansDevanagari"
"""The font name the app registers (``field_app/app.py``) for these two files."""
DEVANAGARI_FILES = (
    str(FONTS / "NotoSansDevanagari-Regular.ttf"),
    str(FONTS / "NotoSansDevanagari-Bold.ttf"),
)
LANGUAGES = {"en": "English", "hi": "हिन्दी"}

EN: dict[str, str] = {
    "app_title": "gridbill field",
    "enrol_title": "Sign in this handset",
    "server_url": "Server URL",
    "credential": "Device credential (type it, or scan its QR code)",
    "scan_qr": "Scan QR code",
    "enrol": "Enrol",
    "enrolling": "Checking the credential with the server…",
    "route": "Route",
    "search": "Search serial, account, address",
    "counts": "Done {done} · Pending {pending} · Skipped {skipped}",
    "sync": "Sync",
    "sync_now": "Sync now",
    "settings": "Settings",
    "back": "Back",
    "done": "done",
    "pending": "pending",
    "skipped": "skipped",
    "meter": "Meter",
    "account": "Account",
    "address": "Address",
    "access_notes": "Access notes",
    "last_read": "Last read",
    "expected": "Expected",
    "none": "none",
    "read_manual": "Type the read",
    "read_probe": "Read with the probe",
    "skip": "Skip",
    "skip_title": "Why no read?",
    "capture_title": "Read {obis} ({unit})",
    "note": "Note",
    "photo": "Photo",
    "photo_added": "Photo added",
    "choose_photo": "Choose a photo",
    "save": "Save",
    "cancel": "Cancel",
    "out_of_range": "{value} is outside the expected {range}. Check the digits, then press Save again to keep it.",
    "saved": "Saved. It will be sent at the next sync.",
    "location": "Location",
    "no_location": "no location",
    "probe_title": "Optical probe",
    "probe_setting": "Probe",
    "probe_read": "Read meter",
    "probe_reading": "Reading… hold the probe on the meter's optical port",
    "probe_use": "Use {value} {unit}",
    "probe_missing": "The meter did not send register {obis}",
    "sync_title": "Sync",
    "last_sync": "Last sync: {when}",
    "never": "never",
    "waiting": "{count} waiting to be sent",
    "syncing": "Syncing…",
    "progress_push": "Sending {count} records…",
    "progress_photo": "Sending a photo: {count} bytes…",
    "progress_pull": "Receiving the route: {count} stops…",
    "sync_done": "Synced: {pushed} sent, {stops} stops received",
    "offline": "No connection: everything is kept and will be sent later",
    "results": "Results",
    "messages": "Messages from the office",
    "recapture": "Read again",
    "result_accepted": "accepted",
    "result_duplicate": "already received",
    "result_conflict_resolved": "conflict",
    "result_rejected": "refused",
    "result_queued": "waiting",
    "result_sending": "sending",
    "language": "Language",
    "device": "Device",
    "pair_probe": "Save probe",
    "probe_paired": "Probe saved",
    "probe_hint": "serial:/dev/rfcomm0, serial:COM5 or bt:00:11:22:33:44:55",
    "enrol_again": "Enrol again",
    "skip_no_access": "No access",
    "skip_premises_locked": "Premises locked",
    "skip_meter_damaged": "Meter damaged",
    "skip_meter_not_found": "Meter not found",
    "skip_dog": "Dog",
    "skip_unsafe": "Unsafe",
    "skip_customer_refused": "Customer refused",
    "skip_other": "Other",
}

HI: dict[str, str] = {
    "app_title": "ग्रिडबिल फ़ील्ड",
    "enrol_title": "इस हैंडसेट में साइन इन करें",
    "server_url": "सर्वर URL",
    "credential": "डिवाइस क्रेडेंशियल (टाइप करें, या इसका QR कोड स्कैन करें)",
    "scan_qr": "QR कोड स्कैन करें",
    "enrol": "नामांकन करें",
    "enrolling": "सर्वर से क्रेडेंशियल जाँच रहे हैं…",
    "route": "रूट",
    "search": "सीरियल, खाता, पता खोजें",
    "counts": "पूरे {done} · बाकी {pending} · छोड़े {skipped}",
    "sync": "सिंक",
    "sync_now": "अभी सिंक करें",
    "settings": "सेटिंग्स",
    "back": "वापस",
    "done": "पूरा",
    "pending": "बाकी",
    "skipped": "छोड़ा",
    "meter": "मीटर",
    "account": "खाता",
    "address": "पता",
    "access_notes": "पहुँच नोट",
    "last_read": "पिछली रीडिंग",
    "expected": "अपेक्षित",
    "none": "नहीं",
    "read_manual": "रीडिंग टाइप करें",
    "read_probe": "प्रोब से पढ़ें",
    "skip": "छोड़ें",
    "skip_title": "रीडिंग क्यों नहीं?",
    "capture_title": "रीडिंग {obis} ({unit})",
    "note": "नोट",
    "photo": "फ़ोटो",
    "photo_added": "फ़ोटो जुड़ी",
    "choose_photo": "फ़ोटो चुनें",
    "save": "सहेजें",
    "cancel": "रद्द करें",
    "out_of_range": "{value} अपेक्षित {range} से बाहर है। अंक जाँचें, फिर रखने के लिए दोबारा सहेजें दबाएँ।",
    "saved": "सहेजा गया। अगले सिंक में भेजा जाएगा।",
    "location": "स्थान",
    "no_location": "स्थान नहीं",
    "probe_title": "ऑप्टिकल प्रोब",
    "probe_setting": "प्रोब",
    "probe_read": "मीटर पढ़ें",
    "probe_reading": "पढ़ रहे हैं… प्रोब को मीटर के ऑप्टिकल पोर्ट पर रखें",
    "probe_use": "{value} {unit} लें",
    "probe_missing": "मीटर ने रजिस्टर {obis} नहीं भेजा",
    "sync_title": "सिंक",
    "last_sync": "पिछला सिंक: {when}",
    "never": "कभी नहीं",
    "waiting": "{count} भेजने बाकी",
    "syncing": "सिंक हो रहा है…",
    "progress_push": "{count} रिकॉर्ड भेज रहे हैं…",
    "progress_photo": "फ़ोटो भेज रहे हैं: {count} बाइट…",
    "progress_pull": "रूट आ रहा है: {count} स्टॉप…",
    "sync_done": "सिंक पूरा: {pushed} भेजे, {stops} स्टॉप मिले",
    "offline": "कनेक्शन नहीं: सब सुरक्षित है, बाद में भेजा जाएगा",
    "results": "परिणाम",
    "messages": "कार्यालय के संदेश",
    "recapture": "फिर से पढ़ें",
    "result_accepted": "स्वीकृत",
    "result_duplicate": "पहले से मिला",
    "result_conflict_resolved": "टकराव",
    "result_rejected": "अस्वीकृत",
    "result_queued": "प्रतीक्षा में",
    "result_sending": "भेज रहे हैं",
    "language": "भाषा",
    "device": "डिवाइस",
    "pair_probe": "प्रोब सहेजें",
    "probe_paired": "प्रोब सहेजा गया",
    "probe_hint": "serial:/dev/rfcomm0, serial:COM5 या bt:00:11:22:33:44:55",
    "enrol_again": "फिर से नामांकन",
    "skip_no_access": "पहुँच नहीं",
    "skip_premises_locked": "परिसर बंद",
    "skip_meter_damaged": "मीटर खराब",
    "skip_meter_not_found": "मीटर नहीं मिला",
    "skip_dog": "कुत्ता",
    "skip_unsafe": "असुरक्षित",
    "skip_customer_refused": "ग्राहक ने मना किया",
    "skip_other": "अन्य",
}

CATALOGUES = {"en": EN, "hi": HI}


def tr(key: str, language: str = "en", **values: object) -> str:
    """The string ``key`` in ``language`` (English when missing), formatted."""
    text = CATALOGUES.get(language, EN).get(key) or EN[key]
    return text.format(**values) if values else text


def is_devanagari(char: str) -> bool:
    return "\u0900" <= char <= "\u097f" or "\ua8e0" <= char <= "\ua8ff"


def escape(text: str) -> str:
    """Kivy markup escaping for text from the server or the reader."""
    return text.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")


def markup(text: str) -> str:
    """``text`` as Kivy markup, each Devanagari run in the Devanagari font (spaces and
    punctuation between Devanagari words stay in the run)."""
    font = DEVANAGARI
    out: list[str] = []
    run: list[str] = []
    in_deva = False
    for char in text:
        deva = is_devanagari(char) or (in_deva and char in " ।,-")
        if deva != in_deva and run:
            out.append(_wrap("".join(run), font) if in_deva else escape("".join(run)))
            run = []
        in_deva = deva
        run.append(char)
    if run:
        out.append(_wrap("".join(run), font) if in_deva else escape("".join(run)))
    return "".join(out)


def _is_consonant(char: str) -> bool:
    return "\u0915" <= char <= "\u0939" or "\u0958" <= char <= "\u095f"


NUKTA, VIRAMA, SIGN_I = "\u093c", "\u094d", "\u093f"


def _cluster_start(chars: list[str]) -> int:
    """Where the consonant cluster that ends ``chars`` begins (``len(chars)`` if none)."""
    i = len(chars)
    if i > 0 and chars[i - 1] == NUKTA:
        i -= 1
    if i == 0 or not _is_consonant(chars[i - 1]):
        return len(chars)
    i -= 1
    while i >= 2 and chars[i - 1] == VIRAMA:
        j = i - 2
        if chars[j] == NUKTA and j > 0:
            j -= 1
        if not _is_consonant(chars[j]):
            break
        i = j
    return i


def visual_order(text: str) -> str:
    """Devanagari in the order an unshaping renderer must draw it: each ि moved before
    its consonant cluster (consonant [nukta] (virama consonant [nukta])*)."""
    out: list[str] = []
    for char in text:
        if char == SIGN_I:
            out.insert(_cluster_start(out), char)
        else:
            out.append(char)
    return "".join(out)


def _wrap(text: str, font: str) -> str:
    return f"[font={font}]{escape(visual_order(text))}[/font]"
