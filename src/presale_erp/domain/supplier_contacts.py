"""A supplier's contacts (联系人): its salesperson (业务), accounts (财务), order follow-up (跟单) and so on.

Rules: a contact has a name and a way to reach them (phone or email); a supplier with contacts has exactly one
primary contact: the first one added is primary, making another primary takes the mark from the old one, and
removing the primary passes the mark to the earliest remaining contact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from presale_erp.domain.errors import InvalidRequest

ROLES = ("业务", "财务", "跟单", "质检", "物流", "老板", "其他")  # suggestions shown in the console; any text is kept
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+\-() ]{5,40}$")


@dataclass(frozen=True)
class Contact:
    name: str
    role: str = ""
    phone: str = ""
    email: str = ""
    is_primary: bool = False

    def checked(self) -> Contact:
        """The contact with its text trimmed, or a refusal saying what is wrong."""
        name, role, phone, email = (x.strip() for x in (self.name, self.role, self.phone, self.email))
        if not name:
            raise InvalidRequest("A supplier contact needs a name.")
        if not (phone or email):
            raise InvalidRequest(f"Contact {name}: give a phone number or an email address to reach them.")
        if phone and not _PHONE.match(phone):
            raise InvalidRequest(f"Contact {name}: {phone!r} is not a phone number.")
        if email and not _EMAIL.match(email):
            raise InvalidRequest(f"Contact {name}: {email!r} is not an email address.")
        return Contact(name, role, phone, email, self.is_primary)


def primary_of_new(contacts: list[Contact], existing: int) -> list[Contact]:
    """Contacts being added to a supplier that has `existing` contacts: at most one may be primary, and the
    first contact of a supplier without any becomes primary."""
    marked = [c for c in contacts if c.is_primary]
    if len(marked) > 1:
        raise InvalidRequest("Only one contact of a supplier can be the primary contact.")
    if existing == 0 and contacts and not marked:
        return [Contact(**{**contacts[0].__dict__, "is_primary": True}), *contacts[1:]]
    return contacts
