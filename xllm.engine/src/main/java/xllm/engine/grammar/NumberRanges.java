package xllm.engine.grammar;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * Grammars for the JSON numbers between two bounds, built digit by digit so that they compare exactly: integers
 * without leading zeros, and decimals in plain notation ({@code -12.5}, no exponent).
 */
final class NumberRanges {
    private static final GbnfExpr DIGIT = GbnfExpr.chars(CharRanges.of('0', '9'));

    private NumberRanges() {
    }

    /** Integers from {@code lo} to {@code hi} inclusive; null for no bound. */
    static GbnfExpr integers(BigInteger lo, BigInteger hi) {
        if (lo != null && hi != null && lo.compareTo(hi) > 0) {
            return GbnfExpr.NEVER;
        }
        List<GbnfExpr> parts = new ArrayList<>();
        if (lo == null || lo.signum() < 0) {
            BigInteger magLo = hi == null || hi.signum() >= 0 ? BigInteger.ONE : hi.negate();
            parts.add(GbnfExpr.seq(GbnfExpr.lit("-"), unsigned(magLo, lo == null ? null : lo.negate())));
        }
        if (hi == null || hi.signum() >= 0) {
            parts.add(unsigned(lo == null || lo.signum() < 0 ? BigInteger.ZERO : lo, hi));
        }
        return GbnfExpr.alt(parts);
    }

    /** Decimals in plain notation between the bounds; null for no bound. */
    static GbnfExpr decimals(BigDecimal lo, boolean loExclusive, BigDecimal hi, boolean hiExclusive) {
        List<GbnfExpr> parts = new ArrayList<>();
        if (lo == null || lo.signum() < 0) {
            // Negative numbers are "-" and a magnitude above zero; "-0" is left to the other side.
            BigDecimal magLo = hi == null || hi.signum() >= 0 ? BigDecimal.ZERO : hi.negate();
            boolean magLoExclusive = hi == null || hi.signum() >= 0 || hiExclusive;
            parts.add(GbnfExpr.seq(GbnfExpr.lit("-"),
                    magnitudes(magLo, magLoExclusive, lo == null ? null : lo.negate(), loExclusive)));
        }
        if (hi == null || hi.signum() > 0 || hi.signum() == 0 && !hiExclusive) {
            boolean fromZero = lo == null || lo.signum() < 0;
            parts.add(magnitudes(fromZero ? BigDecimal.ZERO : lo, !fromZero && loExclusive, hi, hiExclusive));
        }
        return GbnfExpr.alt(parts);
    }

    /** Non-negative decimals without sign between the bounds, {@code lo} at least 0. */
    private static GbnfExpr magnitudes(BigDecimal lo, boolean loExclusive, BigDecimal hi, boolean hiExclusive) {
        if (hi != null) {
            int c = lo.compareTo(hi);
            if (c > 0 || c == 0 && (loExclusive || hiExclusive)) {
                return GbnfExpr.NEVER;
            }
        }
        BigInteger loInt = lo.setScale(0, RoundingMode.FLOOR).toBigIntegerExact();
        String loFrac = fractionDigits(lo);
        if (hi == null) {
            return GbnfExpr.alt(
                    GbnfExpr.seq(GbnfExpr.lit(loInt.toString()), fraction(loFrac, loExclusive, null, false)),
                    GbnfExpr.seq(unsigned(loInt.add(BigInteger.ONE), null), fraction(null, false, null, false)));
        }
        BigInteger hiInt = hi.setScale(0, RoundingMode.FLOOR).toBigIntegerExact();
        String hiFrac = fractionDigits(hi);
        if (loInt.equals(hiInt)) {
            return GbnfExpr.seq(GbnfExpr.lit(loInt.toString()), fraction(loFrac, loExclusive, hiFrac, hiExclusive));
        }
        List<GbnfExpr> parts = new ArrayList<>();
        parts.add(GbnfExpr.seq(GbnfExpr.lit(loInt.toString()), fraction(loFrac, loExclusive, null, false)));
        BigInteger innerLo = loInt.add(BigInteger.ONE);
        BigInteger innerHi = hiInt.subtract(BigInteger.ONE);
        if (innerLo.compareTo(innerHi) <= 0) {
            parts.add(GbnfExpr.seq(unsigned(innerLo, innerHi), fraction(null, false, null, false)));
        }
        parts.add(GbnfExpr.seq(GbnfExpr.lit(hiInt.toString()), fraction(null, false, hiFrac, hiExclusive)));
        return GbnfExpr.alt(parts);
    }

    /** The digits after the point of a non-negative {@code value}, without trailing zeros; "" for an integer. */
    private static String fractionDigits(BigDecimal value) {
        BigDecimal frac = value.subtract(new BigDecimal(value.setScale(0, RoundingMode.FLOOR).toBigIntegerExact()));
        if (frac.signum() == 0) {
            return "";
        }
        String plain = frac.stripTrailingZeros().toPlainString();
        return plain.substring(plain.indexOf('.') + 1);
    }

    /**
     * An optional fraction {@code .ddd} whose value {@code 0.ddd} (0 when absent) lies between {@code 0.lo} and
     * {@code 0.hi}: null for no bound on that side.
     */
    private static GbnfExpr fraction(String lo, boolean loExclusive, String hi, boolean hiExclusive) {
        GbnfExpr digits = fractionDigits(lo, loExclusive, hi, hiExclusive, true);
        GbnfExpr withPoint = GbnfExpr.seq(GbnfExpr.lit("."), digits);
        return zeroAllowed(lo, loExclusive, hi, hiExclusive) ? GbnfExpr.alt(GbnfExpr.EMPTY, withPoint) : withPoint;
    }

    private static boolean zeroAllowed(String lo, boolean loExclusive, String hi, boolean hiExclusive) {
        boolean lowerOk = lo == null || lo.isEmpty() && !loExclusive;
        boolean upperOk = hi == null || !hi.isEmpty() || !hiExclusive;
        return lowerOk && upperOk;
    }

    /**
     * Digit strings {@code s} (at least one digit when {@code first}) with {@code 0.s} between the bounds; a bound
     * is the digits not yet matched (without trailing zeros), null once the digits so far already satisfy it.
     */
    private static GbnfExpr fractionDigits(String lo, boolean loExclusive, String hi, boolean hiExclusive,
            boolean first) {
        if (lo != null && lo.isEmpty() && !loExclusive) {
            lo = null;
        }
        GbnfExpr anyDigits = GbnfExpr.repeat(DIGIT, first ? 1 : 0, -1);
        if (hi != null && hi.isEmpty()) {
            // Only zeros keep the value at the upper bound.
            return hiExclusive || lo != null ? GbnfExpr.NEVER : GbnfExpr.repeat(GbnfExpr.lit("0"), first ? 1 : 0, -1);
        }
        if (lo == null && hi == null) {
            return anyDigits;
        }
        if (hi == null && lo.isEmpty()) {
            // Strictly above zero: some digit is not 0.
            return GbnfExpr.seq(GbnfExpr.star(GbnfExpr.lit("0")), GbnfExpr.chars(CharRanges.of('1', '9')),
                    GbnfExpr.star(DIGIT));
        }
        List<GbnfExpr> options = new ArrayList<>();
        if (!first && zeroAllowed(lo, loExclusive, hi, hiExclusive)) {
            options.add(GbnfExpr.EMPTY);
        }
        int l = lo == null ? -1 : lo.isEmpty() ? 0 : lo.charAt(0) - '0';
        int h = hi == null ? 10 : hi.charAt(0) - '0';
        String loRest = lo == null ? null : lo.isEmpty() ? "" : lo.substring(1);
        String hiRest = hi == null ? null : hi.substring(1);
        if (l + 1 <= h - 1) {
            options.add(GbnfExpr.seq(GbnfExpr.chars(CharRanges.of('0' + l + 1, '0' + h - 1)), GbnfExpr.star(DIGIT)));
        }
        if (l >= 0 && l == h) {
            options.add(GbnfExpr.seq(GbnfExpr.lit(Integer.toString(l)),
                    fractionDigits(loRest, loExclusive, hiRest, hiExclusive, false)));
        } else {
            if (l >= 0 && l < h) {
                options.add(GbnfExpr.seq(GbnfExpr.lit(Integer.toString(l)),
                        fractionDigits(loRest, loExclusive, null, false, false)));
            }
            if (h <= 9 && l < h) {
                options.add(GbnfExpr.seq(GbnfExpr.lit(Integer.toString(h)),
                        fractionDigits(null, false, hiRest, hiExclusive, false)));
            }
        }
        return GbnfExpr.alt(options);
    }

    /** Non-negative integers from {@code lo} to {@code hi} (null: no limit) without leading zeros. */
    static GbnfExpr unsigned(BigInteger lo, BigInteger hi) {
        if (hi != null && lo.compareTo(hi) > 0) {
            return GbnfExpr.NEVER;
        }
        if (lo.signum() == 0) {
            GbnfExpr zero = GbnfExpr.lit("0");
            return hi != null && hi.signum() == 0 ? zero : GbnfExpr.alt(zero, unsigned(BigInteger.ONE, hi));
        }
        String a = lo.toString();
        if (hi != null && hi.toString().length() == a.length()) {
            return sameLength(a, hi.toString());
        }
        List<GbnfExpr> parts = new ArrayList<>();
        parts.add(sameLength(a, "9".repeat(a.length())));
        GbnfExpr leading = GbnfExpr.chars(CharRanges.of('1', '9'));
        if (hi == null) {
            parts.add(GbnfExpr.seq(leading, GbnfExpr.repeat(DIGIT, a.length(), -1)));
        } else {
            String b = hi.toString();
            if (b.length() > a.length() + 1) {
                parts.add(GbnfExpr.seq(leading, GbnfExpr.repeat(DIGIT, a.length(), b.length() - 2)));
            }
            parts.add(sameLength("1" + "0".repeat(b.length() - 1), b));
        }
        return GbnfExpr.alt(parts);
    }

    /** Digit strings of one length from {@code a} to {@code b}, leading zeros included. */
    private static GbnfExpr sameLength(String a, String b) {
        if (a.equals(b)) {
            return GbnfExpr.lit(a);
        }
        int x = a.charAt(0);
        int y = b.charAt(0);
        int n = a.length() - 1;
        if (n == 0) {
            return GbnfExpr.chars(CharRanges.of(x, y));
        }
        String aRest = a.substring(1);
        String bRest = b.substring(1);
        if (x == y) {
            return GbnfExpr.seq(GbnfExpr.lit(Character.toString(x)), sameLength(aRest, bRest));
        }
        boolean lowFull = aRest.equals("0".repeat(n));
        boolean highFull = bRest.equals("9".repeat(n));
        List<GbnfExpr> parts = new ArrayList<>();
        if (!lowFull) {
            parts.add(GbnfExpr.seq(GbnfExpr.lit(Character.toString(x)), sameLength(aRest, "9".repeat(n))));
        }
        int midLo = lowFull ? x : x + 1;
        int midHi = highFull ? y : y - 1;
        if (midLo <= midHi) {
            parts.add(GbnfExpr.seq(GbnfExpr.chars(CharRanges.of(midLo, midHi)), GbnfExpr.repeat(DIGIT, n, n)));
        }
        if (!highFull) {
            parts.add(GbnfExpr.seq(GbnfExpr.lit(Character.toString(y)), sameLength("0".repeat(n), bRest)));
        }
        return GbnfExpr.alt(parts);
    }
}
