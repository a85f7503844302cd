import { useState, type ReactNode } from "react";

import { Spinner } from "./components/Feedback";
import { Link } from "./components/Link";
import { useAuth } from "./hooks/auth";
import { useCart } from "./hooks/cart";
import { useToast } from "./hooks/toast";
import { matchPath, navigate, queryString, useLocation } from "./lib/router";
import { AdminPage } from "./pages/Admin";
import { AnalyticsPage } from "./pages/Analytics";
import { CartPage } from "./pages/Cart";
import { CataloguePage } from "./pages/Catalogue";
import { OrdersPage } from "./pages/Orders";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/PasswordReset";
import { PaymentsPage } from "./pages/Payments";
import { ProductPage } from "./pages/Product";
import { ProfilePage } from "./pages/Profile";
import { SignInPage } from "./pages/SignIn";

const NAV = [
  { href: "/", label: "Shop", match: (p: string) => p === "/" || p.startsWith("/products") },
  { href: "/orders", label: "My orders", match: (p: string) => p.startsWith("/orders") },
  { href: "/payments", label: "Payments", match: (p: string) => p.startsWith("/payments") },
  { href: "/analytics", label: "Analytics", match: (p: string) => p.startsWith("/analytics") },
];

function RequireAuth({ what, children, admin = false }: { what: string; children: ReactNode; admin?: boolean }) {
  const { session, restoring, isAdmin } = useAuth();
  const { pathname, search } = useLocation();
  if (restoring) {
    return <Spinner label="Restoring your session…" />;
  }
  if (!session) {
    return (
      <section className="panel narrow center">
        <title>Sign in · ShopMesh</title>
        <h1>Sign in to see {what}</h1>
        <p className="muted">Your {what} are private to your account.</p>
        <Link className="btn btn-primary" href={`/signin${queryString({ next: pathname + search })}`}>
          Sign in or create an account
        </Link>
      </section>
    );
  }
  if (admin && !isAdmin) {
    return (
      <section className="panel narrow center">
        <h1>Administrators only</h1>
        <p className="muted">Your account cannot open this page.</p>
      </section>
    );
  }
  return children;
}

function Page({ pathname }: { pathname: string }) {
  if (pathname === "/") {
    return <CataloguePage />;
  }
  const product = matchPath("/products/:id", pathname);
  if (product) {
    return <ProductPage id={Number(product.id)} />;
  }
  const admin = matchPath("/admin/:tab", pathname);
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
    case "/admin":
      return (
        <RequireAuth what="the admin pages" admin>
          <AdminPage tab="products" />
        </RequireAuth>
      );
    default:
      break;
  }
  if (admin) {
    return (
      <RequireAuth what="the admin pages" admin>
        <AdminPage tab={admin.tab ?? "products"} />
      </RequireAuth>
    );
  }
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

function Header() {
  const { session, isAdmin, signOut, restoring } = useAuth();
  const { count } = useCart();
  const notify = useToast();
  const { pathname } = useLocation();
  const [open, setOpen] = useState(false);
  const links = isAdmin ? [...NAV, { href: "/admin", label: "Admin", match: (p: string) => p.startsWith("/admin") }] : NAV;

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
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          ShopMesh
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen((value) => !value)}
        >
          <span aria-hidden="true">☰</span> Menu
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
            <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
              <path d="M3 4h2l2.4 10.2a2 2 0 0 0 2 1.6h7.7a2 2 0 0 0 1.9-1.5L21 8H6.2" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
              <circle cx="10" cy="20" r="1.5" fill="currentColor" />
              <circle cx="17" cy="20" r="1.5" fill="currentColor" />
            </svg>
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

export function App() {
  const { pathname } = useLocation();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" className="container main" tabIndex={-1}>
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
