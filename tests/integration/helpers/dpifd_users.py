"""dpifd_users — throwaway users and groups for the Python integration tests.

Tests that talk to the real dpifd as other uids create the users and
groups they need before they start dpifd, and remove at the end exactly
what they created (nothing that existed before the test):

    users = Users()
    users.ensure("dpifd-test-reader", groups=["dpifd"])
    ...
    users.cleanup()     # in a finally:

Users are system users without a home and with /usr/sbin/nologin; a user
that exists already is only added to the groups it lacks (and removed
from those again at cleanup).
"""
import grp
import pwd
import subprocess


def _exists_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _exists_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


class Users:
    def __init__(self):
        self.made_users = []        # created here, userdel at cleanup
        self.made_groups = []       # created here, groupdel at cleanup
        self.added = []             # (user, group) memberships added here

    def group(self, name):
        """Makes sure group 'name' exists; returns its gid."""
        if not _exists_group(name):
            subprocess.run(["groupadd", "--system", name], check=True)
            self.made_groups.append(name)
        return grp.getgrnam(name).gr_gid

    def ensure(self, name, groups=()):
        """Makes sure user 'name' exists and is in every group of
        'groups'; returns its uid."""
        if not _exists_user(name):
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", name],
                           check=True)
            self.made_users.append(name)
        for g in groups:
            self.group(g)
            if name not in grp.getgrnam(g).gr_mem \
                    and pwd.getpwnam(name).pw_gid != grp.getgrnam(g).gr_gid:
                subprocess.run(["usermod", "-a", "-G", g, name], check=True)
                self.added.append((name, g))
        return pwd.getpwnam(name).pw_uid

    def cleanup(self):
        """Undoes what this object did, newest first."""
        for name, g in reversed(self.added):
            if name not in self.made_users and g not in self.made_groups:
                subprocess.run(["gpasswd", "-d", name, g],
                               capture_output=True)
        for name in reversed(self.made_users):
            subprocess.run(["userdel", name], capture_output=True)
        for g in reversed(self.made_groups):
            subprocess.run(["groupdel", g], capture_output=True)
        self.made_users, self.made_groups, self.added = [], [], []
