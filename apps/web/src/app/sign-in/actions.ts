"use server";

import { redirect } from "next/navigation";
import { verifyLocalUser } from "~/server/auth/local-users";
import { signIn, signOut } from "~/server/auth/session";
import { webEnv } from "~/env";

export async function signInAction(formData: FormData): Promise<void> {
  const text = (name: string) => {
    const value = formData.get(name);
    return typeof value === "string" ? value : "";
  };
  const userId = text("userId");
  const password = text("password");
  const caller = webEnv().demoUsers ? verifyLocalUser(userId, password) : null;
  if (!caller) redirect("/sign-in?error=BAD_CREDENTIALS");
  await signIn(caller);
  redirect("/connections");
}

export async function signOutAction(): Promise<void> {
  await signOut();
  redirect("/sign-in");
}
