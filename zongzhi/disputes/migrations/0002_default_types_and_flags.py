"""The default dispute types and escalation-risk flags (administrators may edit them later)."""

from django.db import migrations

TYPES = (
    ("neighbour", "邻里纠纷", "0201"),
    ("family", "婚姻家庭纠纷", "0202"),
    ("land_forest", "土地山林权属纠纷", "0203"),
    ("property_management", "物业管理纠纷", "0204"),
    ("labour", "劳动劳资纠纷", "0205"),
    ("construction", "建设工程纠纷", "0206"),
    ("consumer", "消费纠纷", "0207"),
    ("medical", "医疗纠纷", "0208"),
    ("traffic", "交通事故纠纷", "0209"),
    ("debt", "债务纠纷", "0210"),
    ("environment", "环境污染纠纷", "0212"),
    ("demolition", "征地拆迁安置纠纷", "0211"),
    ("other", "其他纠纷", "0299"),
)
FLAGS = (
    ("threat", "扬言报复或威胁他人", "当事人有扬言报复、威胁伤害对方或他人的言行"),
    ("prior_violence", "有暴力前科或已发生肢体冲突", "当事人有暴力违法犯罪记录，或双方已发生推搡、打斗"),
    ("repeated_visits", "多次上访或反复投诉", "同一事项多次到各级信访、反复投诉未果"),
    ("extreme_statement", "有极端言论", "流露轻生、同归于尽等极端言论"),
    ("weapon", "持有或扬言使用凶器、危险物品", "携带刀具、汽油等危险物品或扬言使用"),
    ("gathering", "有聚集或串联苗头", "有组织聚集、串联或扬言到党政机关聚集的苗头"),
)


def load(apps, schema_editor):
    DisputeType = apps.get_model("disputes", "DisputeType")
    RiskFlagType = apps.get_model("disputes", "RiskFlagType")
    DisputeSettings = apps.get_model("disputes", "DisputeSettings")
    for order, (code, name, category) in enumerate(TYPES):
        DisputeType.objects.get_or_create(
            code=code, defaults={"name": name, "category_code": category, "sort_order": (order + 1) * 10}
        )
    for order, (code, name, description) in enumerate(FLAGS):
        RiskFlagType.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "sort_order": (order + 1) * 10}
        )
    DisputeSettings.objects.get_or_create(pk=1, defaults={"group_min_people": 5, "mass_min_people": 30})


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
