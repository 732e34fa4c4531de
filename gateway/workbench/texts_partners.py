"""The partner platform pages' sentences (协作平台), Chinese first, English beside."""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "nav.partners": ("协作平台", "Partner platforms"),
    "partner.title": ("协作平台", "Partner platforms"),
    "partner.lead": ("县级机关作风整顿公开举报平台、县纪委党风政风监督举报平台等协作平台通过 Open311 "
                     "接口（{open311}）提交问题线索并查询办理状态。每个平台有自己的接口密钥，只能在指定渠道"
                     "提交，只能看到本平台提交的请求。",
                     "Partner platforms (the conduct-rectification and the discipline "
                     "commission's reporting platforms) submit clues and follow them through the "
                     "Open311 interface ({open311}). Each has its own API key, submits only on "
                     "the channels it is given and sees only the requests it submitted."),
    "partner.new": ("新建协作平台", "New partner platform"),
    "partner.empty": ("还没有协作平台。", "No partner platforms yet."),
    "partner.username": ("账号名", "Account name"),
    "partner.username_hint": ("2-64 位小写字母、数字或 . _ -，如 partner-discipline",
                              "2-64 characters: a-z, 0-9, . _ -, e.g. partner-discipline"),
    "partner.display_name": ("平台名称", "Platform name"),
    "partner.channels": ("可用渠道", "Channels it may use"),
    "partner.channels_hint": ("第一个选中的渠道为其请求的来源渠道。",
                              "Its requests arrive on the first channel chosen."),
    "partner.webhook_url": ("回调地址（可选）", "Webhook URL (optional)"),
    "partner.webhook_url_hint": ("其所提交问题的每次状态变化和移交给它的问题将推送到此地址"
                                 "（Standard Webhooks 签名）。",
                                 "Each status change of its own requests and the problems "
                                 "transferred to it are pushed here (Standard Webhooks, signed)."),
    "partner.webhook_secret": ("回调签名密钥", "Webhook signing secret"),
    "partner.webhook_secret_hint": ("16-200 个字符，与对方平台约定；保存后不再显示，留空则保留原密钥。"
                                    "对方以该密钥验签（whsec_ 格式原样使用，其他文本按原始字节）。",
                                    "16-200 characters agreed with the platform; never shown "
                                    "again once saved; leave blank to keep the one stored. The "
                                    "platform verifies with it (a whsec_ secret as it is, other "
                                    "text as its raw bytes)."),
    "partner.webhook": ("回调", "Webhook"),
    "partner.webhook_set": ("已设置", "Set"),
    "partner.webhook_none": ("未设置", "None"),
    "partner.key": ("接口密钥", "API key"),
    "partner.key_hint": ("{hint}…（{at} 签发）", "{hint}… (issued {at})"),
    "partner.no_key": ("未签发", "None issued"),
    "partner.status": ("状态", "Status"),
    "partner.active": ("正常", "Active"),
    "partner.inactive": ("已停用", "Disabled"),
    "partner.actions": ("操作", "Actions"),
    "partner.manage": ("管理", "Manage"),
    "partner.create": ("创建并签发密钥", "Create and issue a key"),
    "partner.back": ("返回协作平台列表", "Back to partner platforms"),
    "partner.save": ("保存设置", "Save settings"),
    "partner.saved": ("已保存设置。", "Settings saved."),
    "partner.settings": ("设置", "Settings"),
    "partner.rotate": ("重新签发密钥", "Issue a new key"),
    "partner.disable": ("停用", "Disable"),
    "partner.enable": ("恢复", "Enable"),
    "partner.confirm.rotate": ("确认为“{name}”重新签发接口密钥？原密钥立即失效，对方平台须改用新密钥。",
                               "Issue a new API key for “{name}”? The old key stops at once; "
                               "the platform must use the new one."),
    "partner.confirm.disable": ("确认停用“{name}”？停用后其接口密钥立即失效，已提交的线索照常办理。",
                                "Disable “{name}”? Its API key stops at once; the clues it "
                                "submitted are dealt with as before."),
    "partner.confirm.enable": ("确认恢复“{name}”？恢复后其现有接口密钥重新可用。",
                               "Enable “{name}”? Its current API key works again."),
    "partner.confirm_button.rotate": ("确认重新签发", "Issue a new key"),
    "partner.confirm_button.disable": ("确认停用", "Disable"),
    "partner.confirm_button.enable": ("确认恢复", "Enable"),
    "partner.done.disable": ("已停用，其接口密钥已失效。", "Disabled; its API key no longer works."),
    "partner.done.enable": ("已恢复。", "Enabled."),
    "partner.key_title": ("接口密钥", "API key"),
    "partner.key_created": ("已创建协作平台“{name}”。", "Partner platform “{name}” created."),
    "partner.key_rotated": ("已为“{name}”签发新密钥，原密钥已失效。",
                            "A new key was issued for “{name}”; the old one no longer works."),
    "partner.key_lead": ("请通过安全渠道将此密钥交给对方平台。密钥只显示这一次，系统只保存其摘要，无法找回；"
                         "遗失时请重新签发。调用 Open311 接口时以 api_key 参数或 HTTP Basic 认证的密码提交。",
                         "Give this key to the platform through a safe channel. It is shown "
                         "only this once; only its digest is kept, so it cannot be recovered "
                         "(issue a new one if lost). Send it as the api_key parameter of the "
                         "Open311 interface, or as the HTTP Basic password."),
    "partner.endpoint": ("接口地址", "Endpoint"),
}
