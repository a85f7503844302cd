import { lazy, Suspense, useEffect, useRef, useState, type ReactNode } from "react";

import { Spinner } from "./components/Feedback";
import { Icon } from "./components/Icon";
import { Link } from "./components/Link";
import { SessionEnded } from "./components/SessionEnded";
import { useAuth } from "./hooks/auth";
import { useCart } from "./hooks/cart";
import { useToast } from "./hooks/toast";
import { matchPath, navigate, queryString, useLocation } from "./lib/router";
import { AnalyticsPage } from "./pages/Analytics";
import { CartPage } from "./pages/Cart";
import { CataloguePage } from "./pages/Catalogue";
import { OrdersPage } from "./pages/Orders";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/PasswordReset";
import { PaymentsPage } from "./pages/Payments";
import { ProductPage } from "./pages/Product";
import { ProfilePage } from "./pages/Profile";
import { SignInPage } from "./pages/SignIn";

// Only administrators open these: their code loads when first needed, in a chunk of its own.
const AdminPage = lazy(() => import("./pages/Admin"));

const NAV = [
  { href: "/", label: "Shop", match: (p: string) => p === "/" || p.startsWith("/products") },
  { href: "/orders", label: "My orders", match: (p: string) => p.startsWith("/orders") },
  { href: "/payments", label: "Payments", match: (p: string) => p.startsWith("/payments") },
  { href: "/analytics", label: "Analytics", match: (p: string) => p.startsWith("/analytics") },
];
const ADMIN_LINK = { href: "/admin", label: "Admin", match: (p: string) => p.startsWith("/admin") };

interface Gate {
  /** What the page shows, as in "Sign in to see your orders". */
  what: string;
  admin?: boolean;
  children: ReactNode;
}

function RequireAuth({ what, children, admin = false }: Gate) {
  const { session, restoring, ended, isAdmin } = useAuth();
  const { pathname, search } = useLocation();
  if (restoring) {
    return <Spinner label="Restoring your session…" />;
  }
  if (!session && ended) {
    return children; // the session panel above asks to sign in again; the page keeps its state
  }
  if (!session) {
    return (
      <section className="panel narrow center">
        <title>Sign in · ShopMesh</title>
        <h1>Sign in to see {what}</h1>
        <p className="muted">{admin ? "Only administrators can open these pages." : "They are private to your account."}</p>
        <Link className="btn btn-primary" href={`/signin${queryString({ next: pathname + search })}`}>
          Sign in or create an account
        </Link>
      </section>
    );
  }
  if (admin && !isAdmin) {
    return (
      <section className="panel narrow center">
        <title>Administrators only · ShopMesh</title>
        <h1>Administrators only</h1>
        <p className="muted">Your account cannot open this page.</p>
        <Link className="btn btn-primary" href="/">
          Back to the shop
        </Link>
      </section>
    );
  }
  return children;
}

function AdminArea({ tab }: { tab: string }) {
  return (
    <RequireAuth what="the admin pages" admin>
      <Suspense fallback={<Spinner label="Loading the admin pages…" />}>
        <AdminPage tab={tab} />
      </Suspense>
    </RequireAuth>
  );
}

function NotFound({ pathname }: { pathname: string }) {
  return (
    <section className="panel narrow center">
      <title>Not found · ShopMesh</title>
      <h1>Page not found</h1>
      <p className="muted">There is nothing at {pathname}.</p>
      <Link className="btn btn-primary" href="/">
        Back to the shop
      </Link>
    </section>
  );
}

function Page({ pathname }: { pathname: string }) {
  if (pathname === "/") {
    return <CataloguePage />;
  }
  const product = matchPath("/products/:id", pathname);
  if (product) {
    return <ProductPage id={Number(product.id)} />;
  }
  const admin = pathname === "/admin" ? { tab: "products" } : matchPath("/admin/:tab", pathname);
  if (admin) {
    return <AdminArea tab={admin.tab ?? "products"} />;
  }
  switch (pathname) {
    case "/cart":
      return <CartPage />;
    case "/signin":
      return <SignInPage />;
    case "/forgot-password":
      return <ForgotPasswordPage />;
    case "/reset-password":
      return <ResetPasswordPage />;
    case "/analytics":
      return <AnalyticsPage />;
    case "/orders":
      return (
        <RequireAuth what="your orders">
          <OrdersPage />
        </RequireAuth>
      );
    case "/payments":
      return (
        <RequireAuth what="your payments">
          <PaymentsPage />
        </RequireAuth>
      );
    case "/profile":
      return (
        <RequireAuth what="your profile">
          <ProfilePage />
        </RequireAuth>
      );
    default:
      return <NotFound pathname={pathname} />;
  }
}

function Header() {
  const { session, isAdmin, signOut, restoring } = useAuth();
  const { count } = useCart();
  const notify = useToast();
  const { pathname } = useLocation();
  const [open, setOpen] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const links = isAdmin ? [...NAV, ADMIN_LINK] : NAV;

  useEffect(() => {
    if (!open) {
      return;
    }
    // Escape closes the phone menu and gives focus back to its button, as for any disclosure.
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        setOpen(false);
        toggle.current?.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  const onSignOut = async () => {
    try {
      await signOut();
      notify("You are signed out.", "info");
    } catch {
      notify("Signed out on this page; the server could not be told.", "info");
    }
    navigate("/");
  };

  return (
    <header className="topbar">
      <div className="container topbar-inner">
        <Link href="/" className="brand" onClick={() => setOpen(false)}>
          <Icon name="brand" size={22} className="brand-mark" />
          ShopMesh
        </Link>
        <button
          ref={toggle}
          type="button"
          className="menu-toggle"
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen((value) => !value)}
        >
          <Icon name={open ? "close" : "menu"} /> Menu
        </button>
        <nav id="main-nav" className={`nav${open ? " nav-open" : ""}`} aria-label="Main">
          {links.map((link) => (
            <Link
              key={link.href}
              href={link.href}
              className="nav-link"
              aria-current={link.match(pathname) ? "page" : undefined}
              onClick={() => setOpen(false)}
            >
              {link.label}
            </Link>
          ))}
        </nav>
        <div className="topbar-actions">
          <Link href="/cart" className="cart-link" aria-label={`Cart, ${count} ${count === 1 ? "item" : "items"}`}>
            <Icon name="cart" size={22} />
            <span className="cart-count" data-testid="cart-count">
              {count}
            </span>
          </Link>
          {session ? (
            <>
              <Link href="/profile" className="user-chip" title="Your profile" data-testid="user-chip">
                <span className="avatar" aria-hidden="true">
                  {session.username.slice(0, 1).toUpperCase()}
                </span>
                <span className="user-name">{session.username}</span>
              </Link>
              <button type="button" className="btn btn-small btn-ghost" onClick={() => void onSignOut()}>
                Sign out
              </button>
            </>
          ) : (
            !restoring && (
              <Link href="/signin" className="btn btn-small btn-primary">
                Sign in
              </Link>
            )
          )}
        </div>
      </div>
    </header>
  );
}

/** After a move to another page, focus goes to its heading (or the main region), as a page load would. */
function useFocusOnPageChange(pathname: string): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const target = document.querySelector<HTMLElement>("main h1") ?? document.getElementById("main");
    if (target) {
      if (!target.hasAttribute("tabindex")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus({ preventScroll: true });
    }
  }, [pathname]);
}

export function App() {
  const { pathname } = useLocation();
  useFocusOnPageChange(pathname);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" className="container main" tabIndex={-1}>
        <SessionEnded />
        <Page pathname={pathname} />
      </main>
      <footer className="footer">
        <div className="container footer-inner">
          <span>© ShopMesh</span>
          <span className="muted">Orders update live · Payments capped at your limit</span>
        </div>
      </footer>
    </>
  );
}
