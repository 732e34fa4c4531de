"""The media team's upload tool (媒体曝光上传工具): ``yanshan-upload``; see ``uploader.cli``."""
