import pytest
from django.http import Http404

from zongzhi.orgs.models import Region
from zongzhi.orgs.roles import Perm, Role
from zongzhi.orgs.scoping import get_visible_or_404, user_can, users_who_can, visible_to


@pytest.mark.django_db
def test_grant_covers_subtree_only(tree, make_user):
    operator = make_user(Role.CENTER_OPERATOR, tree["A"])
    visible = set(visible_to(operator, Region).values_list("name", flat=True))
    assert visible == {"甲区", "甲一街道", "甲二街道", "甲一社区", "甲一村", "甲二社区"}
    assert user_can(operator, Perm.CASE_ACCEPT, tree["A1a"])
    assert not user_can(operator, Perm.CASE_ACCEPT, tree["B1a"])
    assert not user_can(operator, Perm.CASE_ACCEPT, tree["C"])
    with pytest.raises(Http404):
        get_visible_or_404(operator, Region, code=tree["B"].code)
    assert list(users_who_can(Perm.CASE_ACCEPT, tree["A1a"])) == [operator]
    assert list(users_who_can(Perm.CASE_ACCEPT, tree["B1a"])) == []
