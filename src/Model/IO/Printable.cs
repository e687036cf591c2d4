using System.Globalization;
using System.Text;

namespace IlgpuGan.Model.IO;

/// <summary>
/// Text from a file made safe to print on one line: a name or a dtype that a hostile file holds could otherwise
/// clear the screen with an escape sequence, or forge a line of its own with a newline. Every message that quotes
/// what a file holds goes through <see cref="Escape"/>, and the command line escapes each message it prints.
/// </summary>
internal static class Printable
{
    /// <summary>
    /// <paramref name="text"/> with each control or formatting character (C0, DEL, C1, bidirectional overrides, line and
    /// paragraph separators) and each lone surrogate written as a \u escape, \n, \r or \t; other text is unchanged.
    /// </summary>
    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape)) return text;
        var escaped = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                escaped.Append(c).Append(text[++i]);
                continue;
            }
            escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when NeedsEscape(c) => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }

    static bool NeedsEscape(char c) => char.IsControl(c) || char.IsSurrogate(c) || CharUnicodeInfo.GetUnicodeCategory(c)
        is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
