"""Resumable uploads (tus 1.0) and the media team's exposure cases."""
