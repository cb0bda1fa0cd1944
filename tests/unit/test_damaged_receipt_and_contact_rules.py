"""Where a receipt's damaged units go (the named or first non-sellable bin), and a supplier's contacts: each
reachable, exactly one primary."""

from __future__ import annotations

import pytest

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.receiving import Arrival, OrderLine, check_arrivals, damaged_bin_for
from presale_erp.domain.supplier_contacts import Contact, primary_of_new

ORDER = [OrderLine(1, "TEA", ordered=100, received=0)]
DAMAGED_BINS = ["X-01", "X-02"]


@pytest.mark.parametrize(
    ("arrival", "named", "bins", "into"),
    [
        (Arrival(1, 8, 0, "A-01"), None, [], None),  # nothing damaged: no damaged bin needed
        (Arrival(1, 8, 2, "A-01"), None, DAMAGED_BINS, "X-01"),  # the first non-sellable bin
        (Arrival(1, 8, 2, "A-01"), "X-02", DAMAGED_BINS, "X-02"),  # the one the receipt names
        (Arrival(1, 0, 2, None), None, ["X-02"], "X-02"),  # all damaged
    ],
)
def test_damaged_units_go_into_the_named_or_first_non_sellable_bin(arrival, named, bins, into):
    checked = check_arrivals("PO-1", ORDER, [arrival])

    assert damaged_bin_for("PO-1", "HZ", checked, named, bins) == into


@pytest.mark.parametrize(
    ("arrival", "named", "bins", "message"),
    [
        (Arrival(1, 8, 2, "A-01"), None, [], "HZ has no non-sellable"),
        (Arrival(1, 8, 2, "A-01"), "A-02", DAMAGED_BINS, "A-02 of warehouse HZ is not a non-sellable"),
        (Arrival(1, 8, 0, "X-01"), None, DAMAGED_BINS, "accepted units go into a sellable bin"),
    ],
)
def test_damaged_units_without_a_damaged_bin_or_good_ones_in_it_are_refused(arrival, named, bins, message):
    checked = check_arrivals("PO-1", ORDER, [arrival])

    with pytest.raises(InvalidRequest, match=message):
        damaged_bin_for("PO-1", "HZ", checked, named, bins)


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        (Contact(" ", phone="13800001111"), "needs a name"),
        (Contact("王芳", role="业务"), "phone number or an email"),
        (Contact("王芳", phone="call me"), "not a phone number"),
        (Contact("王芳", email="wang@"), "not an email address"),
    ],
)
def test_a_contact_needs_a_name_and_a_way_to_reach_them(contact, message):
    with pytest.raises(InvalidRequest, match=message):
        contact.checked()


def test_a_checked_contact_is_trimmed():
    assert Contact(" 王芳 ", " 业务 ", " 0571-8888 0000 ", "").checked() == Contact("王芳", "业务", "0571-8888 0000")


@pytest.mark.parametrize(
    ("marks", "existing", "primaries"),
    [
        ([False, False], 0, [True, False]),  # a supplier's first contact becomes primary
        ([False, True], 0, [False, True]),  # unless another is marked
        ([False], 2, [False]),  # a supplier with contacts keeps its primary
        ([True], 2, [True]),  # the new one takes the mark (the service unmarks the old)
    ],
)
def test_a_supplier_has_one_primary_contact(marks, existing, primaries):
    contacts = [Contact(f"c{n}", phone="13800001111", is_primary=m) for n, m in enumerate(marks)]

    assert [c.is_primary for c in primary_of_new(contacts, existing)] == primaries


def test_two_primary_contacts_at_once_are_refused():
    both = [Contact("a", phone="13800001111", is_primary=True), Contact("b", phone="13800002222", is_primary=True)]

    with pytest.raises(InvalidRequest, match="Only one contact"):
        primary_of_new(both, 0)
