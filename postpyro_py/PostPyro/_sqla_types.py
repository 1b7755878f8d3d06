# SPDX-License-Identifier: MIT
"""The SQLAlchemy types of the postgresql+postpyro dialect (PostPyro.sqlalchemy): where
SQLAlchemy's PostgreSQL types must convert what PostPyro returns or sends, and, under
SQLAlchemy 2.0, which parameters get a ``$1::TYPE`` cast. ``colspecs`` is the dialect's
type map."""

from __future__ import annotations

import decimal as _decimal
from datetime import datetime as _datetime

import sqlalchemy
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
from sqlalchemy.dialects.postgresql.base import ENUM, INTERVAL, PGDialect

__all__ = ["colspecs"]

_SQLA2 = int(sqlalchemy.__version__.split(".")[0]) >= 2

# result type OIDs
_INT_TYPES = {20, 21, 23, 26, 1005, 1007, 1016}
_FLOAT_TYPES = {700, 701, 1021, 1022}
_DECIMAL_TYPES = {1231, 1700}


class _PGNumeric(sqltypes.Numeric):
    """numeric comes back as Decimal, float4/8 as float, integers as int: convert only
    where the SQLAlchemy type asks for the other one."""

    def bind_processor(self, dialect):
        return None

    def result_processor(self, dialect, coltype):
        if self.asdecimal:
            if coltype in _FLOAT_TYPES:
                return _float_to_decimal(self._effective_decimal_return_scale)
            return None
        if coltype in _DECIMAL_TYPES or coltype in _INT_TYPES:
            return _to_float
        return None


class _PGFloat(_PGNumeric, sqltypes.Float):
    pass


def _to_float(value):
    return None if value is None else float(value)


def _float_to_decimal(scale):
    try:
        from sqlalchemy.engine import processors  # 2.0
    except ImportError:
        from sqlalchemy import processors  # 1.4
    return processors.to_decimal_processor_factory(_decimal.Decimal, scale)


class _PGDate(sqltypes.Date):
    # a datetime for a date: what the server's timestamp-to-date cast does (psycopg2 sends
    # the timestamp and the server casts it); PostPyro refuses to drop the time itself
    def bind_processor(self, dialect):
        def process(value):
            if value.__class__ is _datetime:
                return value.date()
            return value
        return process


class _PGString(sqltypes.String):
    # a number for a string type (an int for VARCHAR): sent as its text, as the server
    # would cast it; PostPyro refuses an int for a text parameter itself
    def bind_processor(self, dialect):
        def process(value):
            if value.__class__ in _NUMBER_CLASSES:
                return str(value)
            return value
        return process


_NUMBER_CLASSES = (int, float, _decimal.Decimal)


class _PGJSON(JSON):
    # PostPyro decodes json itself (SQLAlchemy's serializer still makes what is sent)
    def result_processor(self, dialect, coltype):
        return None


class _PGJSONB(JSONB):
    def result_processor(self, dialect, coltype):
        return None


class _PGUUID(UUID):
    # uuid comes back as uuid.UUID; UUID(as_uuid=False) wants str (a str binds as text)
    def bind_processor(self, dialect):
        return None

    def result_processor(self, dialect, coltype):
        if self.as_uuid:
            return None

        def process(value):
            return None if value is None else str(value)
        return process


class _PGEnum(ENUM):
    pass


class _PGInterval(INTERVAL):
    @classmethod
    def adapt_emulated_to_native(cls, interval, **kw):
        return _PGInterval(precision=interval.second_precision)


class _PGJSONIntIndexType(sqltypes.JSON.JSONIntIndexType):
    # ``col[3]``: ``json -> $1`` is ambiguous to the server (text or int), so say int
    if _SQLA2:  # 2.0 renders the cast itself; its PostgreSQL compiler names it INT
        __visit_name__ = "json_int_index"
        render_bind_cast = True
    else:
        def bind_expression(self, bindvalue):
            return sqlalchemy.cast(bindvalue, sqltypes.Integer)


class _PGJSONStrIndexType(sqltypes.JSON.JSONStrIndexType):
    if _SQLA2:
        __visit_name__ = "json_str_index"
        render_bind_cast = True
    else:
        def bind_expression(self, bindvalue):
            return sqlalchemy.cast(bindvalue, sqltypes.Text)


if _SQLA2:
    # 2.0's PostgreSQL dialect renders ``$1::TYPE`` for the types that ask for it
    # (BindTyping.RENDER_CASTS), in every place, e.g. inside the VALUES of its
    # insertmanyvalues; string types need none (a str is sent as text, which is right).
    class _PGInteger(sqltypes.Integer):
        render_bind_cast = True

    class _PGSmallInteger(sqltypes.SmallInteger):
        render_bind_cast = True

    class _PGBigInteger(sqltypes.BigInteger):
        render_bind_cast = True

    class _PGBoolean(sqltypes.Boolean):
        render_bind_cast = True

    class _PGDateTime(sqltypes.DateTime):
        render_bind_cast = True

    class _PGTime(sqltypes.Time):
        render_bind_cast = True

    from sqlalchemy.dialects.postgresql import ARRAY as _ARRAY

    class _PGARRAY(_ARRAY):
        render_bind_cast = True

        def result_processor(self, dialect, coltype):
            # int2vector and oidvector (2.0's catalog queries read them as arrays) come
            # from PostPyro as lists of ints already
            if coltype in (22, 30):
                return None
            return super().result_processor(dialect, coltype)

    class _PGLargeBinary(sqltypes.LargeBinary):
        render_bind_cast = True

    for _cls in (_PGNumeric, _PGDate, _PGJSON, _PGJSONB, _PGInterval, _PGUUID):
        _cls.render_bind_cast = True
    _SQLA2_COLSPECS = {
        sqltypes.Integer: _PGInteger, sqltypes.SmallInteger: _PGSmallInteger,
        sqltypes.BigInteger: _PGBigInteger, sqltypes.Boolean: _PGBoolean,
        sqltypes.DateTime: _PGDateTime, sqltypes.Time: _PGTime, sqltypes.ARRAY: _PGARRAY,
        _ARRAY: _PGARRAY, sqltypes.Uuid: _PGUUID, sqltypes.LargeBinary: _PGLargeBinary,
    }
else:
    _SQLA2_COLSPECS = {}

colspecs = dict(PGDialect.colspecs)
colspecs.update({
    sqltypes.Numeric: _PGNumeric,
    sqltypes.Date: _PGDate,
    sqltypes.String: _PGString,
    sqltypes.Float: _PGFloat,
    sqltypes.JSON: _PGJSON,
    JSON: _PGJSON,
    JSONB: _PGJSONB,
    UUID: _PGUUID,
    ENUM: _PGEnum,
    sqltypes.Enum: _PGEnum,
    sqltypes.Interval: _PGInterval,
    INTERVAL: _PGInterval,
    sqltypes.JSON.JSONIntIndexType: _PGJSONIntIndexType,
    sqltypes.JSON.JSONStrIndexType: _PGJSONStrIndexType,
})
colspecs.update(_SQLA2_COLSPECS)
