"""`cunguan.client`: a Python Lanmao platform client (signing, requests, gateway forms, notification
checks, S/F/P outcomes). A leaf library: it imports nothing else of Cunguan."""

from cunguan.client.client import DownloadResult, LanmaoClient, ServiceResult, SignatureError
from cunguan.client.outcome import classify
from cunguan.client.signing import KeyFormatError

__all__ = ["DownloadResult", "KeyFormatError", "LanmaoClient", "ServiceResult", "SignatureError", "classify"]
