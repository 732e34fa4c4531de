"""The error vocabulary: refusals a service answers over RPC, and what the gateway makes of them.

A refusal is a ``RemoteError``: a snake_case ``code``, an English and a fully Chinese
message, and the ``field`` it is about (if any). nameko sends ``exc_type``, ``exc_path`` and
``exc_args`` (message, message_zh, code, field) in its error reply; the gateway turns the
four kinds below into 404/422/409/403 with the one error shape, and nothing else a service
raises ever reaches a caller's answer (``gateway.errors``).

Each ``@rpc`` that may refuse declares ``expected_exceptions=EXPECTED``: nameko then logs
the refusal as expected, which ``kit.logs`` turns into one line without a traceback.

``CODES`` is the one list of every code the platform answers with (its status, English and
Chinese meaning); the API description takes each status's codes from it, and a test
refuses a code used anywhere in the code base that is missing here.
"""
from __future__ import annotations

import re
from typing import ClassVar

CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class RemoteError(Exception):
    """Base of the refusals meant for the caller (每个错误都有中英文说明)."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "refused"

    def __init__(self, message: str, message_zh: str, code: str | None = None,
                 field: str | None = None):
        code = code or self.default_code
        if not CODE.match(code):
            raise ValueError(f"error codes are snake_case: {code!r}")
        # nameko stringifies every argument (None would travel as "None")
        super().__init__(message, message_zh, code, field or "")
        self.message = message
        self.message_zh = message_zh
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return self.message


class NotFound(RemoteError):
    """未找到 (404)."""
    status = 404
    default_code = "not_found"


class Invalid(RemoteError):
    """输入有误 (422)."""
    status = 422
    default_code = "invalid_input"


class Conflict(RemoteError):
    """与当前状态冲突 (409)."""
    status = 409
    default_code = "conflict"


class Forbidden(RemoteError):
    """无权操作 (403)."""
    status = 403
    default_code = "forbidden"


# Every error code the platform answers, in one place: code -> (HTTP status, what it means
# in English, in Chinese). A test walks the code base and refuses a code missing here.
CODES: dict[str, tuple[int, str, str]] = {
    # the door: size, type, schema, idempotency (gateway)
    "body_too_large": (413, "the body exceeds the size limit", "请求内容过大"),
    "unsupported_media_type": (415, "the body is not JSON", "请以 JSON 格式提交"),
    "invalid_idempotency_key": (422, "the Idempotency-Key header is malformed",
                                "Idempotency-Key 格式不正确"),
    "invalid_request": (422, "the request cannot be read", "请求内容无法识别"),
    "too_large": (413, "an input exceeds its size limit", "输入内容过大"),
    # evidence files (gateway/files)
    "file_too_large": (413, "the file exceeds its size limit", "文件超过大小上限"),
    "unsupported_file_type": (415, "the file's content is not an accepted type",
                              "文件内容不属于允许的类型"),
    "empty_file": (422, "the file is empty", "文件内容为空"),
    "unreadable_file": (422, "the image cannot be decoded", "无法读取该图片"),
    # resumable uploads (gateway/uploads, tus 1.0) and exposure cases
    "tus_version_unsupported": (412, "Tus-Resumable must be 1.0.0", "仅支持断点续传协议 1.0.0 版本"),
    "invalid_upload_header": (400, "an upload header is missing or malformed",
                              "上传请求头缺失或格式不正确"),
    "upload_offset_mismatch": (409, "Upload-Offset is not the server's offset",
                               "上传偏移量与服务器已收到的字节数不符"),
    "upload_busy": (409, "another request is writing this upload", "该文件正在上传中,请稍后再试"),
    "checksum_mismatch": (460, "the chunk does not match its checksum", "数据块与校验值不符"),
    "upload_expired": (410, "the upload expired and was removed", "上传已过期并被清除"),
    "too_many_uploads": (429, "too many unfinished uploads", "未完成的上传过多"),
    "upload_not_complete": (422, "an upload named is not complete", "所列文件尚未上传完成"),
    "too_many_files": (422, "too many files in one upload", "一次上传的文件过多"),
    "unknown_partner": (422, "no active partner platform has this account name",
                        "没有该名称的协作平台账号(或已停用)"),
    "unknown_file": (422, "no uploaded file has this SHA-256 (or it is not visible)",
                     "未找到该摘要对应的已上传文件"),
    # sign-in and roles (gateway/auth)
    "unauthenticated": (401, "sign in first", "请先登录"),
    "invalid_token": (401, "the token is invalid", "登录凭证无效"),
    "token_expired": (401, "the token has expired", "登录已过期"),
    "invalid_credentials": (401, "wrong username or password", "用户名或密码错误"),
    "account_inactive": (401, "the account is no longer active", "账号已停用"),
    "forbidden": (403, "this role may not call the endpoint", "无权进行此操作"),
    "token_revoked": (401, "the sign-in was ended (signed out or deactivated)",
                      "登录已失效(已退出或账号已停用)"),
    "too_many_requests": (429, "too many requests; wait as Retry-After says",
                          "请求过于频繁,请稍后再试"),
    "account_locked": (429, "too many wrong passwords; the account waits a while",
                       "密码错误次数过多,账号暂时锁定"),
    "busy": (503, "too many sign-ins at once; try again shortly", "登录人数过多,请稍后再试"),
    "cannot_deactivate_self": (409, "an administrator cannot deactivate their own account",
                               "不能停用自己的账号"),
    "unknown_account": (404, "no such account", "账号不存在"),
    # account administration (gateway/auth/admin.py, gateway/routes/accounts.py)
    "password_change_required": (403, "the password was reset or is a first one: set a new "
                                 "password first", "密码已重置或为初始密码,请先设置新密码"),
    "cannot_manage_self": (409, "an administrator cannot change their own account this way",
                           "不能对自己的账号执行此操作"),
    "role_not_manageable": (403, "accounts of this role are managed by the operators",
                            "该角色的账号由运维人员管理"),
    "invalid_username": (422, "the username breaks the username rules", "用户名格式不正确"),
    "weak_password": (422, "the password breaks the password rules", "密码强度不够"),
    "password_not_changed": (422, "the new password is the current one",
                             "新密码不能与当前密码相同"),
    "passwords_differ": (422, "the two new passwords differ", "两次输入的新密码不一致"),
    "unknown_role": (422, "no such role", "未知的角色"),
    "org_required": (422, "this role needs an organization", "该角色须选择所属单位"),
    "org_not_for_role": (422, "the organization is not of a kind this role belongs to",
                         "该单位不是此角色可隶属的单位类型"),
    "username_taken": (409, "the username is already taken", "该用户名已被使用"),
    "duplicate_username": (422, "the username is in the file twice", "文件中用户名重复"),
    "account_not_of_org": (422, "the account does not belong to this organization",
                           "该账号不属于此单位"),
    "account_import_not_template": (422, "the workbook is not the account import template",
                                    "工作簿不是账号导入模板"),
    "account_import_too_many_rows": (413, "the workbook holds more accounts than one import "
                                     "takes", "工作簿中的账号超过单次导入上限"),
    "account_import_empty": (422, "the template holds no account", "模板中没有填写账号"),
    "account_import_refused": (422, "rows were refused; no account was created",
                               "部分行有误,未导入任何账号"),
    # clues (contracts / intake rules)
    "unknown_channel": (422, "no such channel", "未知的线索来源渠道"),
    "channel_not_public": (422, "the channel is for staff only", "该渠道不对公众开放"),
    "unknown_unit": (422, "no such unit", "未知的单位"),
    "unknown_category": (422, "no such category", "未知的问题类别"),
    "unknown_kind": (422, "no such kind", "未知的问题性质"),
    "in_future": (422, "the date lies in the future", "日期不能晚于今天"),
    "contact_required": (422, "a real-name report needs a contact", "实名举报须留联系方式"),
    "anonymous_with_contact": (422, "an anonymous report carries no contact",
                               "匿名举报不应留联系方式"),
    "unknown_receipt": (404, "no clue has this receipt code", "未找到该回执码对应的线索"),
    "unknown_clue": (404, "no clue has this id", "未找到该线索"),
    "unstorable_character": (422, "a text holds a control character no store can keep",
                             "内容含有无法保存的控制字符"),
    "idempotency_key_reused": (422, "the Idempotency-Key was used for another body",
                               "该 Idempotency-Key 已用于另一条线索"),
    "store_unavailable": (503, "the request could not be recorded; nothing was accepted",
                          "暂时无法记录本次提交,未被受理"),
    "not_disputable": (409, "only a closure (rectified or unfounded) can be disputed",
                       "只能对已办结的问题提出异议"),
    # the reporter's follow-up (gateway/routes/followup.py, services/ledger/domain/public.py)
    "not_yet_registered": (409, "the report is not registered in the ledger yet",
                           "举报尚未登记入台账"),
    "case_closed": (409, "the case is closed; information can no longer be added",
                    "该问题已办结,不能再补充材料"),
    "not_ratable": (409, "the case has no outcome to rate yet", "该问题尚无可评价的办理结果"),
    "already_rated": (409, "this receipt has rated this outcome already",
                      "该回执码已对本次办理结果作出评价"),
    "receipt_code_required": (422, "the form's receipt_code must come before its photos",
                              "请在照片之前填写回执码"),
    "method_not_allowed": (405, "the path does not take this method", "该地址不支持此请求方法"),
    "channel_not_for_role": (403, "this role may not enter clues on the channel",
                             "您的角色不能通过该渠道录入线索"),
    "own_unit_required": (422, "a self-inspection names the reporting unit itself",
                          "自查线索须填写本单位"),
    "not_own_unit": (403, "a unit reports a self-inspection about itself only",
                     "自查线索只能反映本单位的问题"),
    # Excel: list exports and the clue import (gateway/excel)
    "export_too_large": (413, "the list has more rows than one sheet holds; filter it",
                         "列表行数超过单个表格上限,请先筛选"),
    "export_busy": (503, "other exports are being written; try again shortly",
                    "其他导出正在生成,请稍后再试"),
    "not_xlsx": (415, "the file is not an .xlsx workbook", "文件不是工作簿格式的电子表格"),
    "import_too_large": (413, "the workbook exceeds the size limit", "工作簿超过大小上限"),
    "import_too_many_rows": (413, "the workbook holds more clues than one import takes",
                             "工作簿中的线索超过单次导入上限"),
    "import_unreadable": (422, "the workbook cannot be read", "无法读取该工作簿"),
    "import_not_template": (422, "the workbook is not the import template",
                            "工作簿不是线索导入模板"),
    "import_file_missing": (422, "no workbook in the form field 'file'",
                            "表单中没有上传工作簿"),
    "import_empty": (422, "the template holds no clue", "模板中没有填写线索"),
    "import_rows_refused": (422, "rows were refused; nothing was imported",
                            "部分行有误,未导入任何线索"),
    "import_interrupted": (503, "the import was interrupted; import the same file again",
                           "导入中断,请重新导入同一文件"),
    # the ledger's refusals (services/ledger/refusals.py)
    "not_found": (404, "not found, or not visible to the caller", "未找到或无权查看"),
    "invalid_seq": (422, "a published head's sequence number is a whole number, with head",
                    "已公布链头的序号应为不小于 0 的整数,并与哈希值一同提供"),
    "invalid_head": (422, "a published head's hash is 64 lowercase hex digits, with seq",
                     "已公布链头的哈希值应为 64 位小写十六进制数字,并与序号一同提供"),
    "invalid_input": (422, "an input is missing or wrong", "输入有误"),
    "invalid_plan": (422, "the rectification plan is incomplete or wrong", "整改计划不完整或有误"),
    "illegal_transition": (409, "not allowed in the problem's current state",
                           "问题当前状态下不能执行此操作"),
    "not_permitted": (403, "the caller may not do this to this problem", "无权执行此操作"),
    "duties_not_separated": (403, "the account that reported a step may not decide on it",
                             "报告该环节的账号不能审核同一环节(职责分离)"),
    "conflict": (409, "in conflict with the current state", "与当前状态冲突"),
    # the monthly bulletin (kit/bulletin.py)
    "invalid_bulletin": (422, "the bulletin request is incomplete or wrong", "月通报请求不完整或有误"),
    "bulletin_published": (409, "the bulletin of this month is published and cannot change",
                           "该月通报已发布,不能更改"),
    "bulletin_changed": (409, "the figures changed since the draft was reviewed",
                         "审阅草稿后数据已有变化,请重新审阅"),
    # weekly and zero reports (services/ledger/domain/reports.py)
    "invalid_report": (422, "the report is incomplete or wrong", "报告内容不完整或有误"),
    "negative_count": (422, "a count in the report is negative", "报告中的数字不能为负数"),
    "rectified_exceeds_found": (422, "more problems rectified than found",
                                "已整改数不能大于发现问题数"),
    "week_not_ended": (422, "the week has not ended yet", "该周尚未结束,不能报送"),
    "not_own_unit_report": (403, "a unit files its own reports only", "只能报送本单位的报告"),
    "not_a_reporting_unit": (422, "the organization files no weekly reports",
                             "该单位不是报送周报告的单位"),
    "amendment_reason_required": (422, "the period was filed already: amending needs a reason",
                                  "该报告期已报送,更正须说明理由"),
    "invalid_measure": (422, "the institution entry is incomplete or wrong",
                        "制度登记内容不完整或有误"),
    # the accountability ladder (services/audit/ladder.py)
    "ladder_step_skipped": (409, "a ladder step cannot be skipped without a reason the "
                            "campaign file allows", "问责阶梯不能越级,除非记录专项工作方案允许的理由"),
    "ladder_step_taken": (409, "the unit's case has this step confirmed already",
                          "该单位本轮已确认此项问责措施"),
    "unknown_skip_reason": (422, "not a reason the campaign file allows for skipping a step",
                            "不是专项工作方案允许的越级理由"),
    "already_decided": (409, "the proposal was confirmed or dismissed already",
                        "该建议已经作出决定"),
    "not_county_office": (403, "only a person of the county office decides on a proposal",
                          "仅县委办公室人员可以决定问责建议"),
    "reason_required": (422, "a reason is required", "须填写理由"),
    "evidence_required": (422, "a finding needs at least one evidence file",
                          "须附至少一份佐证材料"),
    "refused": (400, "refused", "请求被拒绝"),
    # spot-check rounds (services/audit/rounds.py)
    "invalid_period": (422, "the period is a month, YYYY-MM", "抽查期间应为月份,如 2017-10"),
    "invalid_round": (422, "the round's kind or stratum is wrong", "抽查类型或抽查层有误"),
    "empty_population": (409, "nothing to sample for this round", "没有可供本轮抽查的事项"),
    "manifest_not_published": (409, "the manifest's digest is not on the chain yet",
                               "样本框摘要尚未上链,不能录入随机种子"),
    "seed_already_entered": (409, "the round has its seed already", "本轮已录入随机种子"),
    "invalid_seed": (422, "the seed is digits only, long enough", "随机种子只能由数字组成且位数足够"),
    "rechecker_not_independent": (403, "a re-checker may not belong to the item's unit or "
                                  "its supervising body", "复查人员须回避承办单位及其主管部门"),
    "unknown_rechecker": (422, "no active spot-check account has this username",
                          "没有该用户名的在用抽查组账号"),
    "not_in_sample": (422, "the item is not in the round's sample", "该事项不在本轮样本内"),
    "not_assigned": (403, "the item is not assigned to the caller", "该事项未分配给您复查"),
    "already_rechecked": (409, "the item is re-checked already", "该事项已复查"),
    "invalid_verdict": (422, "no such re-check verdict", "请选择复查结论"),
    "findings_required": (422, "the re-check's findings are missing or too long",
                          "请填写复查情况"),
    "invalid_evidence": (422, "evidence is a list of uploaded files' SHA-256",
                         "佐证材料应为已上传文件的摘要"),
    "round_not_rechecked": (409, "sampled items are not re-checked: only the county office "
                            "may close now, with a reason", "尚有抽中事项未复查,须县委办公室说明理由"),
    "round_closed": (409, "the round is closed", "该抽查轮次已结束"),
    "round_not_drawn": (409, "the round's sample is not drawn yet", "尚未抽样"),
    "not_ready": (404, "the file is not published yet", "该文件尚未公布"),
    # notify: webhook targets are checked when they are configured (services/notify)
    "webhook_url_invalid": (422, "the webhook URL is not a valid http(s) URL",
                            "回调地址格式不正确"),
    "webhook_url_unresolvable": (422, "the webhook host cannot be resolved",
                                 "无法解析回调地址的主机名"),
    "webhook_url_not_https": (422, "a webhook URL must use https", "回调地址须使用加密传输"),
    "webhook_url_private": (422, "the webhook address is in a private range",
                            "回调地址属于内网地址段,未获允许"),
    # partner platforms (协作平台) as the county office sets them up (gateway/auth/partners.py)
    "partner_channels_required": (422, "a partner needs at least one channel",
                                  "请至少选择一个渠道"),
    "partner_channel_unknown": (422, "only partner-platform channels may be given",
                                "只能选择协作平台渠道"),
    "webhook_secret_required": (422, "a webhook needs a secret", "设置回调地址须同时设置签名密钥"),
    "partner_channel_not_own": (403, "a partner platform enters clues only on its own channels",
                                "协作平台只能在县委办公室为其指定的渠道提交线索"),
    "webhook_secret_invalid": (422, "the webhook secret must be 16-200 characters",
                               "签名密钥须为十六至二百个字符"),
    "not_a_partner": (404, "no partner platform has this name", "没有该协作平台"),
    # our side (gateway/errors.py)
    "internal_error": (500, "an internal error; quote the correlation id", "服务器内部出错"),
    "upstream_error": (502, "a service failed; quote the correlation id", "后台服务出错"),
    "broker_unavailable": (503, "the broker did not confirm; nothing was accepted",
                           "消息服务暂不可用"),
    "service_unavailable": (503, "a service is not available", "后台服务暂不可用"),
    "timeout": (504, "a service did not answer in time", "后台服务响应超时"),
}

EXPECTED: tuple[type[RemoteError], ...] = (NotFound, Invalid, Conflict, Forbidden)
"""What ``@rpc(expected_exceptions=EXPECTED)`` declares: the refusals a caller may get."""

HTTP_STATUS = {kind.__name__: kind.status for kind in EXPECTED}


def refusal_from_reply(error: dict) -> RemoteError | None:
    """The refusal a nameko error reply carries, or None when the reply is anything else
    (a crash, a foreign exception): its text must not reach a caller."""
    kind = next((k for k in EXPECTED if k.__name__ == error.get("exc_type")), None)
    if kind is None or error.get("exc_path") != f"{kind.__module__}.{kind.__name__}":
        return None
    args = error.get("exc_args")
    if not isinstance(args, list) or len(args) != 4 or not all(isinstance(a, str) for a in args):
        return None
    message, message_zh, code, field = args
    if not message or not message_zh:
        return None
    try:
        return kind(message, message_zh, code, field or None)
    except ValueError:  # a code outside the vocabulary's shape
        return None
