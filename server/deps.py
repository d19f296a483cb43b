"""Names of the dependencies handlers ask for (provided in server.app.create_app)."""

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts import Caller
from server.settings import Settings

EngineDep = NamedDependency[AsyncEngine]
CallerDep = NamedDependency[Caller]
SettingsDep = NamedDependency[Settings]
