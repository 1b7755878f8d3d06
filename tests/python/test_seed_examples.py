# SPDX-License-Identifier: MIT
"""The examples of the seed document (shared/seed/PostPyro-documentation.md), run as written
against the test server (only the connection strings and the tables they assume differ)."""

import sys
import time
import uuid
from datetime import date, datetime
from queue import Empty, Queue
from threading import Lock

import pytest

import PostPyro as pg


@pytest.fixture
def db(sdsn, users):
    """The seed's DSN placeholder becomes the test schema's DSN; `users` exists."""
    users.execute("CREATE TABLE orders (id serial PRIMARY KEY, user_id int)")
    return sdsn


def test_quick_start(db, capsys):
    conn = pg.Connection(db)

    # Simple query
    users = conn.query("SELECT id, name, email FROM users WHERE active = $1", [True])
    for user in users:
        print(f"User: {user['name']} ({user['email']})")

    # Insert data
    user_id = conn.execute(
        "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
        ["John Doe", "john@example.com"]
    )

    # Close connection
    conn.close()

    out = capsys.readouterr().out
    assert "User: Alice (alice@example.com)" in out
    assert "User: Carol (carol@example.com)" in out
    # execute() returns the number of rows (1), not the RETURNING value its name here
    # suggests: the new user's id is 4
    assert user_id == 1
    with pg.Connection(db) as conn:
        assert conn.query_one("SELECT id FROM users WHERE name = 'John Doe'")[0] == 4


def test_module_constants_and_functions(db):
    assert isinstance(pg.__version__, str)
    assert pg.apilevel == "2.0"
    assert pg.threadsafety == 2
    assert pg.paramstyle == "numeric"
    conn = pg.connect(db)
    version = pg.get_version()
    assert version == pg.__version__
    conn.close()


def test_connection_methods_reference(db, capsys):
    conn = pg.Connection(db)
    rows = conn.query("SELECT * FROM users")
    rows = conn.query("SELECT * FROM users WHERE age > $1 AND city = $2", [25, "New York"])
    for row in rows:
        print(f"ID: {row['id']}, Name: {row['name']}")
    conn.execute("INSERT INTO users (id, name) VALUES (123, 'Temp')")
    user = conn.query_one("SELECT * FROM users WHERE id = $1", [123])
    print(f"User: {user['name']}")

    affected = conn.execute(
        "INSERT INTO users (name, email) VALUES ($1, $2)",
        ["Dora", "dora@example.com"]
    )
    assert affected == 1
    affected = conn.execute(
        "UPDATE users SET email = $1 WHERE id = $2",
        ["newemail@example.com", 123]
    )
    assert affected == 1
    affected = conn.execute("DELETE FROM users WHERE active = $1", [False])
    assert affected == 1
    conn.execute("CREATE TABLE products (id SERIAL PRIMARY KEY, name TEXT)")

    queries = [
        "INSERT INTO users (name) VALUES ('User 1')",
        "INSERT INTO users (name) VALUES ('User 2')",
        "INSERT INTO users (name) VALUES ('User 3')"
    ]
    results = conn.execute_batch(queries)
    print(f"Inserted {sum(results)} total rows")

    stmt_id = conn.prepare("SELECT * FROM users WHERE department = $1")
    assert len(conn.query(stmt_id, ["eng"])) == 2

    if conn.ping():
        print("Connection is healthy")
    else:
        print("Connection is dead")

    info = conn.info()
    print(f"Connection closed: {info['closed']}")
    print(f"Connection healthy: {info['healthy']}")

    with conn.begin() as tx:
        tx.execute("INSERT INTO users (name) VALUES ($1)", ["Alice"])
        tx.execute("INSERT INTO orders (user_id) VALUES ($1)", [123])

    if not conn.is_closed():
        conn.query("SELECT 1")
    conn.close()

    out = capsys.readouterr().out
    assert "ID: 1, Name: Alice" in out
    assert "User: Temp" in out
    assert "Inserted 3 total rows" in out
    assert "Connection is healthy" in out
    assert "Connection closed: False" in out
    assert "Connection healthy: True" in out


def test_row_methods_reference(db, capsys):
    conn = pg.Connection(db)
    row = conn.query_one("SELECT id, name, email FROM users WHERE id = $1", [1])
    print(row['name'])
    print(row['email'])
    print(row[0])
    print(row[1])
    column_count = len(row)
    for value in row:
        print(value)
    age = row.get('age', 0)
    columns = row.keys()
    print(f"Columns: {columns}")
    values = row.values()
    for column, value in row.items():
        print(f"{column}: {value}")
    user_dict = row.to_dict()
    conn.close()
    assert column_count == 3
    assert age == 0
    assert values == [1, "Alice", "alice@example.com"]
    assert user_dict == {"id": 1, "name": "Alice", "email": "alice@example.com"}
    assert "Columns: ['id', 'name', 'email']" in capsys.readouterr().out


def test_transaction_methods_reference(db):
    conn = pg.Connection(db)
    conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int)")
    conn.execute("INSERT INTO accounts VALUES (1, 500), (2, 0)")
    conn.execute("ALTER TABLE users ADD created_today boolean DEFAULT true, "
                 "ADD welcomed boolean DEFAULT false")
    with conn.begin() as tx:
        tx.execute("INSERT INTO users (name) VALUES ($1)", ["Alice"])
        tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", [100, 1])
    with conn.begin() as tx:
        users = tx.query("SELECT * FROM users WHERE created_today = true")
        for user in users:
            tx.execute("UPDATE users SET welcomed = true WHERE id = $1", [user['id']])
        one = tx.query_one("SELECT count(*) AS n FROM users WHERE welcomed")
    assert one["n"] == 4
    assert conn.query_one("SELECT balance FROM accounts WHERE id = 1")[0] == 400
    conn.close()


def test_error_handling_example(db, capsys):
    try:
        conn = pg.Connection(db)
        conn.execute("INSERT INTO users (email) VALUES ($1)", ["invalid-email"])

    except pg.IntegrityError as e:
        print(f"Constraint violation: {e}")

    except pg.OperationalError as e:
        print(f"Database operation failed: {e}")

    except pg.ProgrammingError as e:
        print(f"SQL error: {e}")

    except pg.DatabaseError as e:
        print(f"General database error: {e}")
    conn.close()
    # name is NOT NULL: the insert violates a constraint.
    assert "Constraint violation: null value in column \"name\"" in capsys.readouterr().out


def test_type_usage_example(db):
    conn = pg.Connection(db)
    conn.execute("""CREATE TABLE mixed_types (
        id serial PRIMARY KEY, bool_col boolean, int_col integer, float_col double precision,
        text_col text, date_col date, timestamp_col timestamp, uuid_col uuid, json_col json)""")

    # Insert various types
    conn.execute("""
        INSERT INTO mixed_types (
            bool_col, int_col, float_col, text_col,
            date_col, timestamp_col, uuid_col, json_col
        ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    """, [
        True,                                    # boolean
        42,                                      # integer
        3.14159,                                 # float
        "Hello PostgreSQL",                      # text
        date(2023, 12, 25),                     # date
        datetime(2023, 12, 25, 14, 30, 0),      # timestamp
        uuid.uuid4(),                           # uuid
        {"name": "John", "scores": [85, 92, 78]}  # json
    ])

    # Query returns properly typed values
    row = conn.query_one("SELECT * FROM mixed_types WHERE id = $1", [1])
    assert isinstance(row['bool_col'], bool)
    assert isinstance(row['json_col'], dict)
    assert row["int_col"] == 42
    assert row["float_col"] == 3.14159
    assert row["date_col"] == date(2023, 12, 25)
    assert row["timestamp_col"] == datetime(2023, 12, 25, 14, 30)
    assert isinstance(row["uuid_col"], uuid.UUID)
    assert row["json_col"] == {"name": "John", "scores": [85, 92, 78]}
    conn.close()


def test_pandas_style_integration(db):
    conn = pg.Connection(db)
    rows = conn.query("SELECT * FROM users")
    records = [row.to_dict() for row in rows]
    records2 = [dict(row.items()) for row in rows]
    assert records == records2 and len(records) == 3
    conn.close()


@pytest.mark.skipif(sys.implementation.name == "pypy",
                    reason="Debian's python3-pandas is built for CPython only")
def test_pandas_dataframe_from_rows(db):
    pd = pytest.importorskip("pandas", reason="python3-pandas (in .ci/install-deps.sh) is "
                             "not installed")
    with pg.Connection(db) as conn:
        rows = conn.query("SELECT * FROM users ORDER BY id")
    df = pd.DataFrame([row.to_dict() for row in rows])
    assert list(df.columns) == rows[0].keys()
    assert list(df["name"]) == ["Alice", "Bob", "Carol"]


def test_sqlalchemy_style_usage(db, capsys):
    class DatabaseManager:
        def __init__(self, connection_string):
            self.conn = pg.Connection(connection_string)

        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc_val, exc_tb):
            self.conn.close()

        def fetch_users(self, active_only=True):
            return self.conn.query(
                "SELECT * FROM users WHERE active = $1",
                [active_only]
            )

    with DatabaseManager(db) as manager:
        users = manager.fetch_users()
        for user in users:
            print(user['name'])
    assert manager.conn.is_closed()
    assert capsys.readouterr().out.split() == ["Alice", "Carol"]


def test_fastapi_style_handlers(db):
    class HTTPException(Exception):
        def __init__(self, status_code, detail):
            self.status_code = status_code
            self.detail = detail

    conn = pg.Connection(db)

    def get_user(user_id: int):
        try:
            user = conn.query_one(
                "SELECT id, name, email FROM users WHERE id = $1",
                [user_id]
            )
            return user.to_dict()
        except pg.DatabaseError:
            raise HTTPException(status_code=404, detail="User not found")

    def create_user(name: str, email: str):
        try:
            result = conn.execute(
                "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
                [name, email]
            )
            return {"id": result, "message": "User created"}
        except pg.IntegrityError:
            raise HTTPException(status_code=400, detail="Email already exists")

    assert get_user(1) == {"id": 1, "name": "Alice", "email": "alice@example.com"}
    with pytest.raises(HTTPException) as info:
        get_user(999)
    assert info.value.status_code == 404
    assert create_user("Eve", "eve@example.com")["message"] == "User created"
    with pytest.raises(HTTPException) as info:
        create_user("Eve", "eve@example.com")
    assert info.value.status_code == 400
    conn.close()


def test_django_style_models(db):
    class Model:
        def __init__(self, connection_string):
            self.conn = pg.Connection(connection_string) if connection_string else None

    class User(Model):
        def __init__(self, connection_string, name=None, email=None):
            super().__init__(connection_string)
            self.name = name
            self.email = email

        def save(self):
            return self.conn.execute(
                "INSERT INTO users (name, email) VALUES ($1, $2)",
                [self.name, self.email]
            )

        @classmethod
        def find_by_email(cls, conn, email):
            row = conn.query_one(
                "SELECT * FROM users WHERE email = $1",
                [email]
            )
            return cls(None, row['name'], row['email'])

    u = User(db, "Frank", "frank@example.com")
    assert u.save() == 1
    found = User.find_by_email(u.conn, "frank@example.com")
    assert (found.name, found.email) == ("Frank", "frank@example.com")
    u.conn.close()


def test_performance_example_inserts_10000_rows_with_execute_batch(db, capsys):
    conn = pg.Connection(db)
    conn.execute("CREATE TABLE benchmark (value int)")

    start_time = time.time()

    queries = []
    for i in range(10000):
        queries.append(f"INSERT INTO benchmark (value) VALUES ({i})")

    conn.execute_batch(queries)

    elapsed = time.time() - start_time
    print(f"Inserted 10,000 records in {elapsed:.2f} seconds")
    print(f"Rate: {10000/elapsed:.0f} inserts/second")
    assert conn.query_one("SELECT count(*), sum(value) FROM benchmark") == (10000, 49995000)
    conn.close()


def test_connection_pooling_pattern(db):
    class ConnectionPool:
        def __init__(self, connection_string, pool_size=5):
            self.connection_string = connection_string
            self.pool = Queue(maxsize=pool_size)
            self.lock = Lock()

            # Initialize pool
            for _ in range(pool_size):
                conn = pg.Connection(connection_string)
                self.pool.put(conn)

        def get_connection(self):
            try:
                return self.pool.get(timeout=10)
            except Empty:
                raise RuntimeError("No connections available")

        def return_connection(self, conn):
            if not conn.is_closed():
                self.pool.put(conn)

        def close_all(self):
            while not self.pool.empty():
                try:
                    conn = self.pool.get_nowait()
                    conn.close()
                except Empty:
                    break

    pool = ConnectionPool(db)

    def process_user(user_id):
        conn = pool.get_connection()
        try:
            user = conn.query_one("SELECT * FROM users WHERE id = $1", [user_id])
            # Process user...
            return user
        finally:
            pool.return_connection(conn)

    import threading
    results = {}

    def worker(uid):
        results[uid] = process_user(uid)["name"]

    threads = [threading.Thread(target=worker, args=(uid,)) for uid in (1, 2, 3) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {1: "Alice", 2: "Bob", 3: "Carol"}
    assert pool.pool.qsize() == 5
    pool.close_all()
    assert pool.pool.empty()


def test_batch_processing_pattern(db):
    def bulk_insert_users(conn, users_data):
        """Efficiently insert many users using batch operations"""

        # Method 1: Single transaction with multiple inserts
        with conn.begin() as tx:
            for user_data in users_data:
                tx.execute(
                    "INSERT INTO users (name, email, age) VALUES ($1, $2, $3)",
                    [user_data['name'], user_data['email'], user_data['age']]
                )

        # Method 2: Batch execution (faster for large datasets)
        queries = []
        for user_data in users_data:
            queries.append(
                f"INSERT INTO users (name, email, age) VALUES "
                f"('{user_data['name']}', '{user_data['email']}', {user_data['age']})"
            )

        conn.execute_batch(queries)

    conn = pg.Connection(db)
    conn.execute("ALTER TABLE users DROP CONSTRAINT users_email_key")
    data = [{"name": "U%d" % i, "email": "u%d@example.com" % i, "age": i} for i in range(50)]
    bulk_insert_users(conn, data)
    assert conn.query_one("SELECT count(*) FROM users")[0] == 3 + 100
    conn.close()


def test_error_recovery_pattern(db, tcp_port, capsys, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: None)  # keep the backoff out of the test

    def robust_query(connection_string, sql, params=None, max_retries=3):
        """Execute query with automatic retry on connection errors"""

        for attempt in range(max_retries):
            try:
                conn = pg.Connection(connection_string)

                if not conn.ping():
                    raise pg.OperationalError("Connection failed ping test")

                result = conn.query(sql, params)
                conn.close()
                return result

            except (pg.OperationalError, pg.InterfaceError) as e:
                if attempt == max_retries - 1:
                    raise

                print(f"Connection error (attempt {attempt + 1}): {e}")
                time.sleep(2 ** attempt)  # Exponential backoff
                continue

            except pg.DatabaseError:
                # Don't retry on SQL errors
                raise

    # Usage
    try:
        users = robust_query(
            db,
            "SELECT * FROM users WHERE active = $1",
            [True]
        )
    except pg.DatabaseError as e:
        print(f"Database error: {e}")
    assert [u["name"] for u in users] == ["Alice", "Carol"]

    with pytest.raises(pg.OperationalError):
        robust_query("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2", "SELECT 1")
    out = capsys.readouterr().out
    assert "Connection error (attempt 1)" in out and "Connection error (attempt 2)" in out

    with pytest.raises(pg.ProgrammingError):
        robust_query(db, "SELECT * FROM no_such_table")
    assert "attempt" not in capsys.readouterr().out


def test_best_practices(db, capsys):
    with pg.Connection(db) as conn:
        result = conn.query("SELECT * FROM users")
    assert conn.is_closed() and len(result) == 3

    conn = pg.Connection(db)
    try:
        result = conn.query("SELECT * FROM users")
    finally:
        conn.close()

    conn = pg.Connection(db)
    user_id = 1
    assert len(conn.query("SELECT * FROM users WHERE id = $1", [user_id])) == 1

    conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int)")
    conn.execute("INSERT INTO accounts VALUES (1, 100), (2, 0)")
    with conn.begin() as tx:
        tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", [100, 1])
        tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", [100, 2])
    assert conn.query("SELECT balance FROM accounts ORDER BY id") == [(0,), (100,)]

    email = "alice@example.com"
    try:
        conn.execute("INSERT INTO users (name, email) VALUES ('A', $1)", [email])
    except pg.IntegrityError:
        print("Email already exists")
    except pg.ProgrammingError:
        print("SQL syntax error")
    assert capsys.readouterr().out == "Email already exists\n"

    conn.execute("INSERT INTO users (name, age) VALUES ('N', $1)", [25])
    conn.execute("INSERT INTO users (name, age) VALUES ('M', $1)", ["25"])
    conn.close()


def test_connection_string_options(pw_role):
    base = pw_role["url"]
    conn = pg.Connection(base + "?connect_timeout=10")
    conn.close()
    conn = pg.Connection(base + "?sslmode=disable&connect_timeout=10&application_name=myapp")
    assert conn.info()["application_name"] == "myapp"
    conn.close()
    conn = pg.Connection(base.replace("postgresql://", "postgres://"))
    conn.close()


def test_authentication_failure_example(password_checked, capsys):
    try:
        conn = pg.Connection(password_checked["url"].replace(":secret@", ":wrongpass@"))
    except pg.OperationalError as e:
        print(f"Authentication error: {e}")
    out = capsys.readouterr().out
    assert out.startswith("Authentication error: ")
    assert "wrongpass" not in out
