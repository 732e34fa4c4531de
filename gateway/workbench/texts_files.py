"""The workbench's words about evidence files (佐证材料文件), Chinese first."""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "files.choose": ("选择文件（可多选）", "Choose files (several at once)"),
    "files.hint": ("每个文件作为一项{what}，说明默认为文件名。允许照片（JPEG、PNG、WebP）、PDF、Word、"
                   "Excel、PowerPoint 和视频（MP4、MOV），按文件内容识别类型；图片每个不超过 {image}，"
                   "其他文件不超过 {other}，每次最多 {count} 个。",
                   "Each file becomes an item of {what}, described by its name. Photos (JPEG, "
                   "PNG, WebP), PDF, Word, Excel, PowerPoint and video (MP4, MOV), typed by "
                   "their content; images up to {image}, other files up to {other}, at most "
                   "{count} at a time."),
    "files.attached": ("已附文件", "Attached"),
    "files.replace": ("更换文件", "Replace the file"),
    "files.none_chosen": ("未选择文件", "No file chosen"),
    "files.chosen": ("已选择 {n} 个文件", "{n} files chosen"),
    "files.refused": ("{name}：{message}", "{name}: {message}"),
    "files.label": ("附件", "Attachment"),
}
TEXTS.update({
    "nav.my_work_plan": ("工作方案", "Work plan"),
    "filing.title": ("清理工作方案", "Work plan"),
    "filing.lead": ("本单位的专项清理工作方案报主管部门备案；请附上方案正文。",
                   "File your unit's campaign work plan with its supervising body, with the "
                   "plan's document."),
    "filing.filed_list": ("已备案的方案", "Plans filed"),
    "filing.none": ("尚未备案工作方案。", "No work plan filed yet."),
    "filing.file": ("备案新的工作方案", "File a work plan"),
    "filing.submit": ("提交备案", "File the plan"),
    "filing.filed": ("工作方案已提交备案。", "The work plan is filed."),
    "filing.filed_at": ("备案时间", "Filed"),
    "filing.acknowledged": ("主管部门已确认", "Acknowledged"),
    "filing.waiting": ("等待主管部门确认", "Awaiting acknowledgement"),
    "filing.document": ("方案文件", "Document"),
})
