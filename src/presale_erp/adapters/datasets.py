"""Demand history from files into the long layout (id, date, quantity, optional exogenous columns).

Layouts, recognised from the path (a file or a folder):
- long: any CSV / CSV.gz / Parquet with one row per series and period; common column names are accepted
  (sales, units, y -> quantity; sku, unique_id -> id; ds, day, week -> date);
- M5 store x department: Parquet with store_id, dept_id, sales, event_name_1 and snap_CA/TX/WI columns
  (id = store_dept, snap = the flag of the store's state);
- M5 wide: the official `sales_train_*.csv(.gz)` with d_1..d_N columns, read with `calendar.csv(.gz)` and
  `*sell_prices*.csv(.gz)` from the same folder.
A folder holding M5 files is read as M5; a folder with one data file is read as that file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ALIASES = {
    "id": ("id", "unique_id", "series", "series_id", "sku", "item", "item_id"),
    "date": ("date", "ds", "day", "week", "period"),
    "quantity": ("quantity", "sales", "units", "qty", "demand", "y", "sold"),
}
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
M5_STORE_DEPT = "store_dept_daily_sales.parquet"
NO_EVENT = ""


class DatasetError(ValueError):
    """A path that cannot be read as demand history; the message says what was found and what was expected."""


def load(path: Path | str) -> pd.DataFrame:
    """Read demand history from a file or folder in any supported layout, as a long frame."""
    target = Path(path)
    if not target.exists():
        raise DatasetError(f"{target} does not exist.")
    if target.is_dir():
        return _load_folder(target)
    if _is_m5_wide(target):
        return load_m5_wide(target)
    frame = _read_table(target)
    if {"store_id", "dept_id", "sales"} <= set(frame.columns) and "id" not in frame.columns:
        return m5_store_dept(frame, _calendar_beside(target))
    return long_layout(frame, source=target.name)


def _load_folder(folder: Path) -> pd.DataFrame:
    if (folder / M5_STORE_DEPT).exists():
        return load(folder / M5_STORE_DEPT)
    wide = sorted(p for p in folder.iterdir() if _is_m5_wide(p))
    if wide:
        return load_m5_wide(wide[0])
    files = sorted(p for p in folder.iterdir() if p.name.endswith(DATA_SUFFIXES))
    if len(files) != 1:
        names = ", ".join(p.name for p in files) or "none"
        raise DatasetError(
            f"Cannot tell which file in {folder} holds the demand history (data files: {names}); "
            "give the file's path, or a folder with M5 files or a single CSV/Parquet file."
        )
    return load(files[0])


def _is_m5_wide(path: Path) -> bool:
    return path.is_file() and re.search(r"sales_train.*\.csv(\.gz)?$", path.name) is not None


def _read_table(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
            return (
                pd.read_csv(path, sep=None, engine="python") if name.endswith((".tsv", ".txt")) else pd.read_csv(path)
            )
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} could not be read: {exc}") from exc
    raise DatasetError(f"{path.name} is neither CSV (.csv, .csv.gz) nor Parquet (.parquet); cannot read it.")


def long_layout(frame: pd.DataFrame, source: str = "the data") -> pd.DataFrame:
    """Rename aliased columns to id, date, quantity; every other column is kept as an exogenous variable."""
    lower = {str(c).lower(): c for c in frame.columns}
    renames: dict[str, str] = {}
    for target, names in ALIASES.items():
        found = next((lower[n] for n in names if n in lower), None)
        if found is None:
            raise DatasetError(
                f"{source} has no {target} column (accepted names: {', '.join(names)}); "
                f"its columns are {', '.join(map(str, frame.columns))}."
            )
        renames[found] = target
    return frame.rename(columns=renames)


def _calendar_beside(path: Path) -> pd.DataFrame | None:
    for name in ("calendar.csv.gz", "calendar.csv"):
        if (path.parent / name).exists():
            return pd.read_csv(path.parent / name, parse_dates=["date"])
    return None


def m5_store_dept(frame: pd.DataFrame, calendar: pd.DataFrame | None = None) -> pd.DataFrame:
    """M5 store x department sales to the long layout, every series on a full daily range.

    Days missing from the source (Christmas, when stores close, and a few gaps) become zero sales with the day's
    real event and SNAP flags, taken from the rows of other stores on that day or from the M5 calendar.
    """
    frame = frame.assign(date=pd.to_datetime(frame["date"]))
    days = _m5_days(frame, calendar)
    sales = frame.assign(id=frame["store_id"] + "_" + frame["dept_id"])[["id", "store_id", "date", "sales"]]
    spans = sales.groupby("id").agg(store_id=("store_id", "first"), start=("date", "min"))
    end = sales["date"].max()
    grid = pd.concat(
        [
            pd.DataFrame({"id": i, "store_id": row.store_id, "date": pd.date_range(row.start, end)})
            for i, row in spans.iterrows()
        ],
        ignore_index=True,
    )
    full = grid.merge(sales[["id", "date", "sales"]], on=["id", "date"], how="left").merge(days, on="date", how="left")
    state = full["store_id"].str.split("_").str[0]
    full["snap"] = _snap_of_state(full, state)
    full["quantity"] = full["sales"].fillna(0.0)
    return full[["id", "date", "quantity", "event", "event_type", "snap"]]


def _m5_days(frame: pd.DataFrame, calendar: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["date", "event_name_1", "event_type_1", "snap_CA", "snap_TX", "snap_WI"]
    days = frame[columns].drop_duplicates("date")
    if calendar is not None:
        days = pd.concat([days, calendar.loc[~calendar["date"].isin(days["date"]), columns]], ignore_index=True)
    return _m5_events(days)


def _m5_events(days: pd.DataFrame) -> pd.DataFrame:
    """M5 writes "no event" as NaN or the string "None"; both become NO_EVENT so it is never mistaken for missing."""
    events = days.rename(columns={"event_name_1": "event", "event_type_1": "event_type"})
    for column in ("event", "event_type"):
        events[column] = events[column].replace("None", NO_EVENT).fillna(NO_EVENT).astype(str)
    return events


def _snap_of_state(frame: pd.DataFrame, state: pd.Series) -> pd.Series:
    snap = pd.Series(0, index=frame.index, dtype="int8")
    for code in state.unique():
        column = f"snap_{code}"
        if column in frame.columns:
            snap = snap.mask(state == code, frame[column].fillna(0).astype("int8"))
    return snap


def load_m5_wide(path: Path) -> pd.DataFrame:
    """The official wide M5 file (one row per item x store, columns d_1..d_N) with calendar and prices beside it."""
    calendar = _calendar_beside(path)
    if calendar is None:
        raise DatasetError(f"{path.name} is M5 wide data but no calendar.csv(.gz) sits beside it to date d_1..d_N.")
    wide = _read_table(path)
    day_columns = [c for c in wide.columns if re.fullmatch(r"d_\d+", str(c))]
    if not day_columns or "item_id" not in wide.columns or "store_id" not in wide.columns:
        raise DatasetError(f"{path.name} lacks the M5 columns item_id, store_id and d_1..d_N.")
    keys = ["item_id", "store_id", "state_id"] if "state_id" in wide.columns else ["item_id", "store_id"]
    long = wide.melt(id_vars=keys, value_vars=day_columns, var_name="d", value_name="quantity")
    long = long.merge(calendar, on="d", how="left")
    long["id"] = long["item_id"] + "_" + long["store_id"]
    state = long["state_id"] if "state_id" in long.columns else long["store_id"].str.split("_").str[0]
    long["snap"] = _snap_of_state(long, state)
    long = long.merge(_m5_events(calendar[["date", "event_name_1", "event_type_1"]]), on="date", how="left")
    long = _with_prices(long, path.parent)
    columns = ["id", "date", "quantity", "event", "event_type", "snap"] + (["price"] if "price" in long.columns else [])
    return long[columns].sort_values(["id", "date"]).reset_index(drop=True)


def _with_prices(long: pd.DataFrame, folder: Path) -> pd.DataFrame:
    found = sorted(p for p in folder.iterdir() if re.search(r"sell_prices.*\.csv(\.gz)?$", p.name))
    if not found:
        return long
    prices = pd.read_csv(found[0], sep=None, engine="python")
    prices = prices.loc[:, ~prices.columns.str.startswith("Unnamed")]
    prices = prices[["store_id", "item_id", "wm_yr_wk", "sell_price"]].rename(columns={"sell_price": "price"})
    return long.merge(prices, on=["store_id", "item_id", "wm_yr_wk"], how="left")
