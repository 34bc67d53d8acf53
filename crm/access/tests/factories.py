"""Factories for the organisation. Passwords are all PASSWORD (fast hasher in tests)."""

from __future__ import annotations

from types import SimpleNamespace

import factory

from crm.access.defaults import roles_ensure
from crm.access.models import Department, Role, User

PASSWORD = "Test-pass-2026!"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"部门{n}")


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    code = factory.Sequence(lambda n: f"role-{n}")
    name = factory.Sequence(lambda n: f"角色{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[Role] | None, **kwargs: object) -> None:
        if create and extracted:
            self.roles.set(extracted)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):  # type: ignore[no-untyped-def]
        if create:
            instance.save()


def build_org() -> SimpleNamespace:
    roles = roles_ensure()
    company = DepartmentFactory(name="公司")
    sales = DepartmentFactory(name="销售中心", parent=company)
    east = DepartmentFactory(name="华东销售部", parent=sales)
    south = DepartmentFactory(name="华南销售部", parent=sales)
    north = DepartmentFactory(name="华北销售部", parent=sales)
    marketing = DepartmentFactory(name="市场部", parent=company)
    service = DepartmentFactory(name="客服部", parent=company)
    finance = DepartmentFactory(name="财务部", parent=company)
    for d in (company, sales, east, south, north, marketing, service, finance):
        d.refresh_from_db()
    admin = UserFactory(username="admin", department=company, roles=[roles["admin"]])
    director = UserFactory(username="sun.hao", department=sales, roles=[roles["sales_manager"]])
    li_na = UserFactory(
        username="li.na", department=east, manager=director, roles=[roles["sales_manager"]]
    )
    zhang_wei = UserFactory(
        username="zhang.wei", department=east, manager=li_na, roles=[roles["sales_rep"]]
    )
    huang_qiang = UserFactory(
        username="huang.qiang", department=south, manager=director, roles=[roles["sales_manager"]]
    )
    wang_fang = UserFactory(
        username="wang.fang", department=south, manager=huang_qiang, roles=[roles["sales_rep"]]
    )
    zhao_min = UserFactory(username="zhao.min", department=marketing, roles=[roles["marketing"]])
    chen_jing = UserFactory(username="chen.jing", department=service, roles=[roles["service"]])
    liu_yang = UserFactory(username="liu.yang", department=finance, roles=[roles["finance"]])
    return SimpleNamespace(
        roles=roles,
        company=company,
        sales=sales,
        east=east,
        south=south,
        north=north,
        marketing=marketing,
        service=service,
        finance=finance,
        admin=admin,
        director=director,
        li_na=li_na,
        zhang_wei=zhang_wei,
        huang_qiang=huang_qiang,
        wang_fang=wang_fang,
        zhao_min=zhao_min,
        chen_jing=chen_jing,
        liu_yang=liu_yang,
    )
