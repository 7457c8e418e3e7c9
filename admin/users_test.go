package admin

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

const sampleHash = "$2a$04$C6UzMDM.H6dfI/f/IKxGhu4nW1J1eRGlzcR6xY7rj0xY3Fl2s9K1u"

func TestParseUsers(t *testing.T) {
	good := "# station st01\nwang.li supervisor " + sampleHash + "\n\n  li.na operator " + sampleHash + " # desk 2\nchen.jie viewer " + sampleHash + " disabled\n"
	users, err := ParseUsers([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []User{{"wang.li", RoleSupervisor, sampleHash, false}, {"li.na", RoleOperator, sampleHash, false}, {"chen.jie", RoleViewer, sampleHash, true}}
	if len(users) != len(want) {
		t.Fatalf("got %+v", users)
	}
	for i := range want {
		if users[i] != want[i] {
			t.Errorf("user %d: %+v, want %+v", i, users[i], want[i])
		}
		if FormatUser(users[i]) != strings.Join(strings.Fields(strings.Split(strings.Split(good, "\n")[[]int{1, 3, 4}[i]], "#")[0]), " ") {
			t.Errorf("FormatUser(%+v) = %q", users[i], FormatUser(users[i]))
		}
	}
	for _, tc := range []struct{ name, file, msg string }{
		{"two fields", "wang.li supervisor", `line 1: want "name role hash", then "disabled" for a disabled user`},
		{"bad role", "wang.li admin " + sampleHash, `line 1: user wang.li: role "admin": want viewer, operator or supervisor`},
		{"plain token", "wang.li viewer hunter2-secret", "line 1: user wang.li: the third field is not a bcrypt hash"},
		{"bad name", "../x viewer " + sampleHash, "line 1: want 1-64 characters, not starting with '.'"},
		{"custodian", "Custodian viewer " + sampleHash, `line 1: "Custodian" is reserved for custodian's own events`},
		{"shared", "shared-token viewer " + sampleHash, `line 1: name "shared-token" is reserved for the shared token`},
		{"twice", "a viewer " + sampleHash + "\nA operator " + sampleHash, "line 2: user A is listed twice"},
		{"bad fourth", "a viewer " + sampleHash + " enabled", `line 1: want "name role hash", then "disabled" for a disabled user`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseUsers([]byte(tc.file))
			if err == nil || err.Error() != tc.msg {
				t.Fatalf("error %v, want %q", err, tc.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the error quotes the file")
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	tok, hash, err := NewToken("li.na")
	if err != nil {
		t.Fatal(err)
	}
	name, secret, ok := splitToken(tok)
	if !ok || name != "li.na" || len(secret) != 43 {
		t.Fatalf("token %q", tok)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) != nil {
		t.Fatal("hash does not match the token")
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcryptCost {
		t.Errorf("cost %d", cost)
	}
	if cost, err := bcrypt.Cost([]byte(noUserHash)); err != nil || cost != bcryptCost {
		t.Errorf("noUserHash cost %d, %v: an unknown name must cost what a known one does", cost, err)
	}
	if _, _, err := NewToken("shared-token"); err == nil {
		t.Error("made a token for the reserved shared-token")
	}
}

// FuzzParseUsers: any users file gives users or an error, never a panic,
// and every user it gives is valid and prints back to itself.
func FuzzParseUsers(f *testing.F) {
	f.Add("wang.li supervisor " + sampleHash + "\n")
	f.Add("# c\nli.na operator " + sampleHash + " disabled\nx viewer $2a$\n")
	f.Add("a viewer " + sampleHash + "\nA viewer " + sampleHash)
	f.Add("\x00 \t\r\n" + strings.Repeat("a", 70) + " viewer " + sampleHash)
	f.Fuzz(func(t *testing.T, file string) {
		users, err := ParseUsers([]byte(file))
		if err != nil {
			return
		}
		for _, u := range users {
			if _, err := validName(u.Name); err != nil || u.Role == RoleNone {
				t.Fatalf("accepted %+v", u)
			}
			back, err := ParseUsers([]byte(FormatUser(u)))
			if err != nil || len(back) != 1 || back[0] != u {
				t.Fatalf("%+v prints as %q, which reads back as %+v, %v", u, FormatUser(u), back, err)
			}
		}
	})
}
