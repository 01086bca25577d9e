"""The bookkeeping of the python client scripts run by the integration tests.

Each script records checks on a Checks object and ends with report(NAME),
which prints one line per failed check and "NAME: N of M checks passed"
(what the C++ side looks for) and returns the exit status.
"""


class Checks:
    def __init__(self):
        self.failures = []
        self.count = 0

    def check(self, what, got, want):
        self.count += 1
        if got != want:
            self.failures.append(f"{what}: got {got!r}, want {want!r}")

    def attempt(self, what, fn):
        """Runs fn(); an exception counts as a failed check."""
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - report anything
            self.count += 1
            self.failures.append(f"{what}: raised {type(e).__name__}: {e}")
            return None

    def report(self, name) -> int:
        for f in self.failures:
            print("FAIL", f)
        print(f"{name}: {self.count - len(self.failures)} of {self.count} checks passed")
        return 1 if self.failures else 0
